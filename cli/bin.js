#!/usr/bin/env node
// The `cairn` command. It runs the bundle (dist/cairn.js, built at install)
// while that is fresh, else the TypeScript sources (cli/launch.js decides).
// The sources need Node 22.18 or later (and libp2p 3 needs 22): when started
// by an older node, re-run under the Node 24 that `npm install` put in
// node_modules, so `cairn` works either way. Services (namenode, datanode,
// up, mount, gateway) and bulk transfers (put, get, cat, import, export) are
// re-run too, with the Node options V8 takes only at start
// (nodeFlagsFor in cli/launch.js). A signal is passed on to the
// child; one that reached both (a terminal's Ctrl-C) is taken once by the
// services (DUPLICATE_SIGNAL_MS in cli/support/signals.ts).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { cliEntry, nodeFlagsFor } from './launch.js'

const [major, minor] = process.versions.node.split('.').map(Number)
const args = process.argv.slice(2)
const entry = cliEntry()
const modern = major > 22 || (major === 22 && minor >= 18)
const flags = nodeFlagsFor(args)

if (modern && flags.every((flag) => process.execArgv.includes(flag))) {
  const { run } = await import(pathToFileURL(entry).href)
  await run()
} else {
  const node = modern ? process.execPath : fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(node)) {
    process.stderr.write(`cairn: error: Cairn needs Node 22.18 or later; this is Node ${process.versions.node}\n` +
      'hint: run `npm install` in the Cairn directory (it brings Node 24), or install a newer Node\n')
    process.exit(2)
  }
  const child = spawn(node, [...flags, entry, ...args], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => { child.kill(signal) })
  child.on('exit', (code, signal) => { process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)) })
}
