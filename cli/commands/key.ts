import { readFile, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { InvalidArgumentError, clientSettings, localError } from '../../core/index.ts'
import type { KeyType } from '../../core/index.ts'
import { formatTable, printJson } from '../support/output.ts'
import { keystoreOf } from '../support/paths.ts'

const TYPES: KeyType[] = ['ed25519', 'secp256k1', 'rsa']

export function registerKey (program: Command): void {
  const key = program.command('key').description('keys for IPNS names (kept beside the cluster configuration, mode 0600)')
  const store = async (command: Command): Promise<ReturnType<typeof keystoreOf>> => keystoreOf(await clientSettings(command.optsWithGlobals().config))

  key.command('gen')
    .description('make a new key; prints its name')
    .argument('<key>', 'a local name for the key, e.g. blog')
    .option('--type <type>', `${TYPES.join(', ')} (default ed25519)`)
    .action(async (name: string, flags: { type?: string }, command: Command) => {
      const type = (flags.type ?? 'ed25519') as KeyType
      if (!TYPES.includes(type)) throw new InvalidArgumentError(`unknown key type "${flags.type ?? ''}"`, { hint: `use ${TYPES.join(', ')}` })
      const info = await (await store(command)).generate(name, type)
      process.stdout.write(`${info.name.text}\n`)
    })

  key.command('ls')
    .description('list keys and the names they sign for')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const keys = await (await store(command)).list()
      if (flags.json === true) { printJson(keys.map((k) => ({ key: k.key, name: k.name.text, type: k.type }))); return }
      process.stdout.write(`${formatTable(keys.map((k) => [k.key, k.name.text, k.type]))}\n`)
    })

  key.command('rm')
    .description('delete a key (the name can no longer be published)')
    .argument('<key>')
    .action(async (name: string, _flags: unknown, command: Command) => {
      await (await store(command)).remove(name)
      process.stdout.write(`removed key ${name}\n`)
    })

  key.command('rename')
    .description('give a key another local name')
    .argument('<from>')
    .argument('<to>')
    .action(async (from: string, to: string, _flags: unknown, command: Command) => {
      await (await store(command)).rename(from, to)
      process.stdout.write(`renamed key ${from} to ${to}\n`)
    })

  key.command('export')
    .description('write a key\'s private key (libp2p protobuf, as ipfs key export does): keep it secret')
    .argument('<key>')
    .option('-o, --output <file>', 'where to write it (default: <key>.key)')
    .action(async (name: string, flags: { output?: string }, command: Command) => {
      const out = flags.output ?? `${name}.key`
      await writeFile(out, await (await store(command)).export(name), { mode: 0o600, flag: 'wx' }).catch((err: unknown) => { throw localError(out, err) })
      process.stdout.write(`wrote ${out}\n`)
    })

  key.command('import')
    .description('add a key exported by Cairn or Kubo')
    .argument('<key>', 'a local name for it')
    .argument('<file>')
    .action(async (name: string, file: string, _flags: unknown, command: Command) => {
      const bytes = await readFile(file).catch((err: unknown) => { throw localError(file, err) })
      const info = await (await store(command)).import(name, bytes)
      process.stdout.write(`${info.name.text}\n`)
    })
}
