#!/usr/bin/env node
// Cairn runs its TypeScript directly, which needs Node 22.18 or later (and
// libp2p 3 needs 22). When started by an older node, re-run under the Node 24
// that `npm install` put in node_modules, so `cairn` works either way.
// Services (namenode, datanode, up, mount, gateway) are re-run too, with the
// Node options V8 takes only at start (cli/support/node-flags.ts). A signal
// is passed on to the child; one that reached both (a terminal's Ctrl-C) is
// taken once by the services (DUPLICATE_SIGNAL_MS in cli/support/signals.ts).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Kept equal to cli/support/node-flags.ts (a test checks): this file runs before TypeScript can. */
const SERVICE_NODE_FLAGS = ['--initial-old-space-size=128']
const SERVICE_COMMANDS = new Set(['namenode', 'datanode', 'up', 'mount', 'gateway'])

const [major, minor] = process.versions.node.split('.').map(Number)
const main = fileURLToPath(new URL('./main.ts', import.meta.url))
const args = process.argv.slice(2)

/** The subcommand, found as cli/program.ts finds it: the first word that is not an option or --config's value. */
function commandName () {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--config') { i++; continue }
    if (!args[i].startsWith('-')) return args[i]
  }
  return undefined
}

const modern = major > 22 || (major === 22 && minor >= 18)
const flags = SERVICE_COMMANDS.has(commandName() ?? '') ? SERVICE_NODE_FLAGS : []

if (modern && flags.every((flag) => process.execArgv.includes(flag))) {
  const { run } = await import('./main.ts')
  await run()
} else {
  const node = modern ? process.execPath : fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(node)) {
    process.stderr.write(`cairn: error: Cairn needs Node 22.18 or later; this is Node ${process.versions.node}\n` +
      'hint: run `npm install` in the Cairn directory (it brings Node 24), or install a newer Node\n')
    process.exit(2)
  }
  const child = spawn(node, [...flags, main, ...args], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => { child.kill(signal) })
  child.on('exit', (code, signal) => { process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)) })
}
