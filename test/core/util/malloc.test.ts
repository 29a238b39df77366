import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { SERVICE_MALLOC, tuneMalloc } from '../../../core/index.ts'

const run = promisify(execFile)
const MODULE = new URL('../../../core/util/malloc.ts', import.meta.url).pathname

describe('malloc tuning for long-running processes', () => {
  it('applies glibc settings through the addon npm install built (a silent fallback fails here)', () => {
    expect(tuneMalloc(SERVICE_MALLOC)).toBe(true)
  })

  it('leaves MALLOC_* variables set by hand alone', async () => {
    const script = `import { tuneMalloc } from ${JSON.stringify(MODULE)}; process.stdout.write(String(tuneMalloc()))`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, MALLOC_TOP_PAD_: '1048576' } })
    expect(stdout).toBe('false')
  })

  it('the build script builds the addon, and says so', async () => {
    const { stdout } = await run(process.execPath, [new URL('../../../scripts/build-malloc-tuning.mjs', import.meta.url).pathname, '--strict'])
    expect(stdout).toMatch(/built native\/build\/malloc-tuning\.node/)
  })
})
