import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importCars } from '../../core/index.ts'
import type { CairnClient } from '../../core/index.ts'
import { Gateway } from '../../gateway/index.ts'
import { KUBO_FIXTURES } from '../helpers/fixtures.ts'
import { TestCluster } from '../helpers/cluster.ts'

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url))
const CHROMIUM = '/usr/bin/chromium'
const DIR_LISTING = 'bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i'

let cluster: TestCluster
let client: CairnClient
let gateway: Gateway
let base: string
let browser: Browser

beforeAll(async () => {
  cluster = await TestCluster.start({ datanodes: 2 })
  client = await cluster.client()
  await importCars(client.context, [path.join(KUBO_FIXTURES, 'dir_listing/fixtures.car')], { replication: 2 })
  gateway = new Gateway({ client, port: 0 })
  base = await gateway.start()
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  await mkdir(ARTIFACTS, { recursive: true })
})
afterAll(async () => {
  await browser?.close()
  await gateway?.stop()
  await client?.close()
  await cluster?.stop()
})

/** Opens `url` in a fresh page and collects every console error and failed request. */
async function open (url: string, viewport = { width: 1280, height: 900 }): Promise<{ page: Awaited<ReturnType<Browser['newPage']>>, errors: string[] }> {
  const page = await browser.newPage({ viewport })
  const errors: string[] = []
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()) })
  page.on('pageerror', (err) => { errors.push(err.message) })
  page.on('requestfailed', (request) => { errors.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`) })
  const response = await page.goto(url)
  expect(response?.status()).toBe(200)
  return { page, errors }
}

describe('in a real browser (chromium)', () => {
  it('the status page loads without console errors and shows the datanodes', async () => {
    const { page, errors } = await open(`${base}/`)
    await expect.poll(async () => await page.locator('#datanodes tr.datanode').count()).toBe(2)
    const text = await page.locator('body').innerText()
    for (const id of cluster.datanodeIds) expect(text).toContain(id.slice(-10))
    expect(text).toContain(DIR_LISTING)
    await page.screenshot({ path: path.join(ARTIFACTS, 'status.png'), fullPage: true })
    // readable on a phone: nothing wider than the screen
    const phone = await open(`${base}/`, { width: 390, height: 844 })
    // a string, so the test needs no DOM typings
    const overflow = await phone.page.evaluate('document.documentElement.scrollWidth - window.innerWidth') as number
    await phone.page.screenshot({ path: path.join(ARTIFACTS, 'status-phone.png'), fullPage: true })
    expect(overflow).toBeLessThanOrEqual(1)
    expect([...errors, ...phone.errors]).toEqual([])
  })

  it('a directory listing loads, and its links lead to the files', async () => {
    const { page, errors } = await open(`${base}/ipfs/${DIR_LISTING}`)
    expect(page.url()).toBe(`${base}/ipfs/${DIR_LISTING}/`)
    await page.screenshot({ path: path.join(ARTIFACTS, 'listing.png'), fullPage: true })
    await page.getByRole('link', { name: 'ą', exact: true }).click()
    await page.getByRole('link', { name: 'ę', exact: true }).click()
    await page.getByRole('link', { name: 'file-źł.txt', exact: true }).click()
    expect(decodeURIComponent(new URL(page.url()).pathname)).toBe(`/ipfs/${DIR_LISTING}/ą/ę/file-źł.txt`)
    expect((await page.locator('body').innerText()).length).toBeGreaterThan(0)
    expect(errors).toEqual([])
  })
})
