import { readFile, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { DEFAULT_LIFETIME_MS, DEFAULT_TTL_MS, formatContentPath, localError, parseDuration, parseName, SELF_KEY } from '../../core/index.ts'
import { replicationArg } from '../support/args.ts'
import { withClient } from '../support/client.ts'
import { formatTable, printJson } from '../support/output.ts'
import { expandKeyNames, keystoreOf } from '../support/paths.ts'

interface PublishFlags {
  key?: string
  lifetime?: string
  ttl?: string
  expect?: string
  replication?: number
  json?: boolean
}

export function registerName (program: Command): void {
  const name = program.command('name').description('IPNS names: publish, resolve, history, import and export records')

  name.command('publish')
    .description('point a name at content: signs a record one sequence above the current one; the cluster keeps the content')
    .argument('<path>', 'a CID, /ipfs/<cid>/path or /ipns/<name>')
    .option('-k, --key <key>', `the key whose name to publish (default ${SELF_KEY})`)
    .option('--lifetime <duration>', `how long the record stays valid (default ${DEFAULT_LIFETIME_MS / 3_600_000}h)`)
    .option('--ttl <duration>', `how long resolvers may cache it (default ${DEFAULT_TTL_MS / 60_000}m)`)
    .option('--expect <path>', 'only if the name still points here (compare-and-swap); "" for a name with no record yet')
    .option('-r, --replication <n>', 'copies of the content (default: the name\'s, or 3)', replicationArg)
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  cairn name publish bafybei...
  cairn name publish --key blog /ipfs/bafybei.../site --lifetime 7d
  # fails (exit 7) if someone else published meanwhile:
  cairn name publish --expect /ipfs/bafyOLD... bafyNEW...`)
    .action(async (target: string, flags: PublishFlags, command: Command) => {
      const lifetimeMs = flags.lifetime === undefined ? undefined : parseDuration(flags.lifetime)
      const ttlMs = flags.ttl === undefined ? undefined : parseDuration(flags.ttl)
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const keystore = keystoreOf(settings)
        const key = await keystore.get(flags.key ?? SELF_KEY)
        const published = await client.publish(key, {
          value: await expandKeyNames(target, keystore),
          signal,
          ...(lifetimeMs === undefined ? {} : { lifetimeMs }),
          ...(ttlMs === undefined ? {} : { ttlMs }),
          ...(flags.expect === undefined ? {} : { expect: flags.expect }),
          ...(flags.replication === undefined ? {} : { replication: flags.replication })
        })
        if (flags.json === true) printJson({ name: published.name, value: published.value, sequence: published.sequence, replication: published.replication })
        else process.stdout.write(`published ${published.name} -> ${published.value} (sequence ${published.sequence})\n`)
      })
    })

  name.command('resolve')
    .description('what a name points to, as an /ipfs/ path (following names that point to names)')
    .argument('[name]', `a name (k51...), /ipns/<name>[@sequence][/path], or a key's name (default ${SELF_KEY})`)
    .option('--json', 'print as JSON')
    .action(async (target: string | undefined, flags: { json?: boolean }, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const text = target ?? SELF_KEY
        const full = text.startsWith('/ipns/') || text.startsWith('ipns://') ? text : `/ipns/${text}`
        const path = await client.resolve(await expandKeyNames(full, keystoreOf(settings)), signal)
        const ipfs = `/ipfs/${formatContentPath(path)}`
        if (flags.json === true) printJson({ path: ipfs, cid: path.root, segments: path.segments })
        else process.stdout.write(`${ipfs}\n`)
      })
    })

  name.command('history')
    .description('the values a name has pointed to (newest first); /ipns/<name>@<sequence> resolves an old one')
    .argument('[name]', `a name, or a key's name (default ${SELF_KEY})`)
    .option('-n, --limit <n>', 'at most this many (default 100)', (v) => Number(v))
    .option('--json', 'print as JSON')
    .action(async (target: string | undefined, flags: { limit?: number, json?: boolean }, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const nameText = await nameOf(target ?? SELF_KEY, settings)
        const entries = await client.namenode.nameHistory(nameText, flags.limit ?? 100, signal)
        if (flags.json === true) { printJson(entries); return }
        process.stdout.write(`${formatTable([['SEQUENCE', 'PUBLISHED', 'VALUE'], ...entries.map((e) => [String(e.sequence), new Date(e.publishedMs).toISOString().replace('T', ' ').slice(0, 19), e.value])])}\n`)
      })
    })

  name.command('ls')
    .description('names the namenode holds records for')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, signal }) => {
        const names = await client.namenode.names(signal)
        if (flags.json === true) { printJson(names.map(({ record: _r, ...rest }) => rest)); return }
        process.stdout.write(`${formatTable([['NAME', 'SEQUENCE', 'COPIES', 'VALUE'], ...names.map((n) => [n.name, String(n.sequence), String(n.replication), n.value])])}\n`)
      })
    })

  name.command('export')
    .description('write a name\'s current record as is (application/vnd.ipfs.ipns-record), for Kubo or another cluster')
    .argument('[name]', `a name, or a key's name (default ${SELF_KEY})`)
    .option('-o, --output <file>', 'where to write it (default: <name>.ipns-record)')
    .action(async (target: string | undefined, flags: { output?: string }, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const nameText = await nameOf(target ?? SELF_KEY, settings)
        const record = await client.namenode.nameGet(nameText, signal)
        const out = flags.output ?? `${nameText}.ipns-record`
        await writeFile(out, record.record).catch((err: unknown) => { throw localError(out, err) })
        process.stdout.write(`wrote ${out} (sequence ${record.sequence})\n`)
      })
    })

  name.command('import')
    .description('store a record made elsewhere (by Kubo, or exported from another cluster) after checking it')
    .argument('<name>', 'the name the record is for (k51...)')
    .argument('<file>', 'the record (application/vnd.ipfs.ipns-record)')
    .option('-r, --replication <n>', 'copies of the content (default 3)', replicationArg)
    .action(async (nameText: string, file: string, flags: { replication?: number }, command: Command) => {
      const name = parseName(nameText)
      const record = await readFile(file).catch((err: unknown) => { throw localError(file, err) })
      await withClient(command.optsWithGlobals(), async ({ client, signal }) => {
        const stored = await client.namenode.namePut({ name: name.text, record, ...(flags.replication === undefined ? {} : { replication: flags.replication }) }, signal)
        process.stdout.write(`imported ${stored.name} -> ${stored.value} (sequence ${stored.sequence})\n`)
      })
    })
}

async function nameOf (text: string, settings: { configFile: string }): Promise<string> {
  const expanded = await expandKeyNames(`/ipns/${text.replace(/^\/ipns\//, '')}`, keystoreOf(settings))
  return parseName(expanded.slice('/ipns/'.length).split('/')[0] as string).text
}
