import path from 'node:path'
import type { Command } from 'commander'
import { SELF_KEY } from '../../core/index.ts'
import { mountDrive, unmountDrive } from '../../fuse/index.ts'
import { withClient } from '../support/client.ts'
import { keystoreOf } from '../support/paths.ts'

interface MountFlags {
  name: string
  ro?: boolean
  ipfs?: boolean
  attrTimeout: string
  spool?: string
  writeback?: boolean
  debug?: boolean
}

export function registerMount (program: Command): void {
  program.command('mount')
    .description('mount your drive (the tree of one of your names) as a local directory, through FUSE')
    .argument('<dir>', 'an empty directory to mount on')
    .option('--name <key>', 'the key whose name to mount (cairn key ls)', SELF_KEY)
    .option('--ro', 'read-only')
    .option('--ipfs', 'also show ipfs/<cid>/... (read-only) and ipns/<name>/... at the root (writable for the names whose key you hold, read-only for others)')
    .option('--attr-timeout <ms>', 'how long attributes are cached, and how often another mount\'s changes are looked for', '1000')
    .option('--spool <dir>', 'where files being written are kept until stored (default: spool/ beside the config)')
    .option('--writeback', 'close returns once the file is in the local spool; it is stored and published in the background (fsync and unmount still wait; after a crash, the next mount publishes what was acknowledged, from a local journal)')
    .option('--debug', 'log every FUSE call')
    .addHelpText('after', `
Stays in the foreground; Ctrl-C or SIGTERM publishes what was written, then
unmounts. close() and fsync() return once the file is stored at its
replication and the name is published (with --writeback, close returns at
once and only fsync waits). Other mounts of the same name see a closed file
on their next open, after at most --attr-timeout.

Examples:
  mkdir -p ~/cairn && cairn mount ~/cairn
  cairn mount --name blog --ipfs /mnt/blog
  cairn key gen notes && ls /mnt/blog/ipns        (your names, each writable)
  cairn unmount ~/cairn`)
    .action(async (dir: string, flags: MountFlags, command: Command) => {
      keepServingOnUnhandledRejection()
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const keystore = keystoreOf(settings)
        const mounted = await mountDrive({
          mountpoint: dir,
          client,
          key: await keystore.get(flags.name),
          keys: async () => await Promise.all((await keystore.list()).map(async (info) => await keystore.get(info.key))),
          replication: settings.replication,
          profile: settings.profile,
          readOnly: flags.ro === true,
          views: flags.ipfs === true,
          attrTimeoutMs: Number(flags.attrTimeout),
          spoolDir: flags.spool ?? path.join(path.dirname(settings.configFile), 'spool'),
          writeback: flags.writeback === true,
          debug: flags.debug === true
        })
        process.stdout.write(`mounted /ipns/${mounted.name} at ${mounted.mountpoint}${flags.ro === true ? ' (read-only)' : ''}\n`)
        if (!signal.aborted) await new Promise((resolve) => { signal.addEventListener('abort', resolve, { once: true }) })
        process.stderr.write('cairn mount: publishing and unmounting...\n')
        await mounted.unmount()
      })
    })

  program.command('unmount')
    .description('unmount a drive (its process publishes what it holds first)')
    .argument('<dir>', 'the mount point')
    .action(async (dir: string) => {
      await unmountDrive(dir)
    })
}

/**
 * A promise somewhere rejected with nobody listening is a bug, but ending
 * the process for it would take the mount down with it: every open file,
 * what write-back holds unstored, and the mountpoint itself (left answering
 * ENOTCONN). The mount says so loudly, with the stack, and goes on serving;
 * the mount tests fail on any such line, so bugs still surface.
 */
function keepServingOnUnhandledRejection (): void {
  process.on('unhandledRejection', (reason) => {
    const detail = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)
    process.stderr.write(`cairn mount: internal error (a bug: please report it), carrying on: unhandled rejection: ${detail}\n`)
  })
}
