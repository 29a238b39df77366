import type { Command } from 'commander'
import { NameTree, SELF_KEY, formatBytes, localSource } from '../../core/index.ts'
import type { Published } from '../../core/index.ts'
import { stdinUntil, withClient } from '../support/client.ts'
import { formatTable, printJson } from '../support/output.ts'
import { expandKeyNames, keystoreOf } from '../support/paths.ts'
import type { ClientRun } from '../support/client.ts'

/** `key:/path`, `key:` or `/path` (the self key). */
function parseTarget (text: string): { key: string, path: string } {
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*):(.*)$/.exec(text)
  if (match === null) return { key: SELF_KEY, path: text === '' ? '/' : text }
  return { key: match[1] as string, path: match[2] === '' ? '/' : match[2] as string }
}

async function tree (run: ClientRun, key: string): Promise<NameTree> {
  return new NameTree(run.client.context, {
    key: await keystoreOf(run.settings).get(key),
    replication: run.settings.replication,
    profile: run.settings.profile,
    signal: run.signal
  })
}

function done (published: Published, json: boolean | undefined): void {
  if (json === true) printJson({ name: published.name, value: published.value, sequence: published.sequence })
  else process.stdout.write(`${published.name} -> ${published.value} (sequence ${published.sequence})\n`)
}

export function registerFiles (program: Command): void {
  const files = program.command('files')
    .description('edit the tree a name points to, like a filesystem (safe with several writers: changes never overwrite each other)')
    .addHelpText('after', `
Paths are <key>:/path, where <key> is one of your keys (cairn key ls);
/path alone means self:/path. Every change stores the new blocks, then
republishes the name with compare-and-swap.

Examples:
  cairn files mkdir -p self:/docs/2026
  cairn files write self:/docs/2026/notes.txt notes.txt
  echo hi | cairn files write blog:/hello.txt -
  cairn files mv self:/docs/2026/notes.txt self:/docs/old-notes.txt
  cairn files cp /ipfs/bafy.../photo.jpg self:/photos/
  cairn files ls self:/docs
  cairn cat /ipns/self/docs/old-notes.txt`)

  files.command('write')
    .description('write a file (replacing one already there)')
    .argument('<target>', '<key>:/path of the file')
    .argument('[source]', 'local file to read, or - for standard input (default -)', '-')
    .option('-p, --parents', 'create missing parent directories')
    .option('--json', 'print the result as JSON')
    .action(async (target: string, source: string, flags: { parents?: boolean, json?: boolean }, command: Command) => {
      const { key, path } = parseTarget(target)
      await withClient(command.optsWithGlobals(), async (run) => {
        const content = source === '-' ? [{ content: stdinUntil(run.signal) }] : localSource(source, { signal: run.signal })
        done(await (await tree(run, key)).write(path, content, { parents: flags.parents === true }), flags.json)
      })
    })

  files.command('mkdir')
    .description('make a directory')
    .argument('<target>', '<key>:/path')
    .option('-p, --parents', 'create missing parents, and do not mind if it exists')
    .option('--json', 'print the result as JSON')
    .action(async (target: string, flags: { parents?: boolean, json?: boolean }, command: Command) => {
      const { key, path } = parseTarget(target)
      await withClient(command.optsWithGlobals(), async (run) => {
        done(await (await tree(run, key)).mkdir(path, { parents: flags.parents === true }), flags.json)
      })
    })

  files.command('rm')
    .description('remove a file, or a directory with -r')
    .argument('<target>', '<key>:/path')
    .option('-r, --recursive', 'remove a directory and everything in it')
    .option('--json', 'print the result as JSON')
    .action(async (target: string, flags: { recursive?: boolean, json?: boolean }, command: Command) => {
      const { key, path } = parseTarget(target)
      await withClient(command.optsWithGlobals(), async (run) => {
        done(await (await tree(run, key)).rm(path, { recursive: flags.recursive === true }), flags.json)
      })
    })

  files.command('mv')
    .description('move or rename within one name\'s tree (into a directory if the target is one)')
    .argument('<from>', '<key>:/path')
    .argument('<to>', '<key>:/path (same key)')
    .option('--json', 'print the result as JSON')
    .action(async (from: string, to: string, flags: { json?: boolean }, command: Command) => {
      const source = parseTarget(from)
      const target = parseTarget(to)
      await withClient(command.optsWithGlobals(), async (run) => {
        if (source.key !== target.key) {
          const t = await tree(run, target.key)
          const src = await (await tree(run, source.key)).root()
          if (src === undefined) throw new Error('the source name is empty')
          done(await t.cp(`/ipfs/${src.toString()}${source.path}`, target.path), flags.json)
          return
        }
        done(await (await tree(run, source.key)).mv(source.path, target.path), flags.json)
      })
    })

  files.command('cp')
    .description('copy anything in the cluster into a name\'s tree (nothing is copied but links)')
    .argument('<source>', 'a CID, /ipfs/<cid>/path, /ipns/<name>/path, or <key>:/path')
    .argument('<to>', '<key>:/path (into it if it is a directory)')
    .option('--json', 'print the result as JSON')
    .action(async (source: string, to: string, flags: { json?: boolean }, command: Command) => {
      const target = parseTarget(to)
      await withClient(command.optsWithGlobals(), async (run) => {
        const keystore = keystoreOf(run.settings)
        const fromKey = /^([A-Za-z0-9][A-Za-z0-9._-]*):(\/.*)?$/.exec(source)
        const from = fromKey !== null && !/^(Qm|baf)/.test(source)
          ? `/ipns/${(await keystore.info(fromKey[1] as string)).name.text}${fromKey[2] ?? ''}`
          : await expandKeyNames(source, keystore)
        done(await (await tree(run, target.key)).cp(from, target.path), flags.json)
      })
    })

  files.command('ls')
    .description('list a directory of a name\'s tree')
    .argument('[target]', '<key>:/path (default self:/)', 'self:/')
    .option('--json', 'print as JSON')
    .action(async (target: string, flags: { json?: boolean }, command: Command) => {
      const { key, path } = parseTarget(target)
      await withClient(command.optsWithGlobals(), async (run) => {
        const entries = await (await tree(run, key)).ls(path)
        if (flags.json === true) { printJson(entries); return }
        if (entries.length > 0) process.stdout.write(`${formatTable(entries.map((e) => [e.cid.toString(), formatBytes(e.size), e.name]))}\n`)
      })
    })
}
