#!/usr/bin/env node
// Cairn runs its TypeScript directly, which needs Node 22.18 or later (and
// libp2p 3 needs 22). When started by an older node, re-run under the Node 24
// that `npm install` put in node_modules, so `cairn` works either way.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const [major, minor] = process.versions.node.split('.').map(Number)
const main = fileURLToPath(new URL('./main.ts', import.meta.url))

if (major > 22 || (major === 22 && minor >= 18)) {
  const { run } = await import('./main.ts')
  await run()
} else {
  const bundled = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(bundled)) {
    process.stderr.write(`cairn: error: Cairn needs Node 22.18 or later; this is Node ${process.versions.node}\n` +
      'hint: run `npm install` in the Cairn directory (it brings Node 24), or install a newer Node\n')
    process.exit(2)
  }
  const child = spawn(bundled, [main, ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => { child.kill(signal) })
  child.on('exit', (code, signal) => { process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)) })
}
