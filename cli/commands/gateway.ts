import type { Command } from 'commander'
import { CairnClient, InvalidArgumentError, clientSettings, createLogger } from '../../core/index.ts'
import { DEFAULT_GATEWAY_HOST, DEFAULT_GATEWAY_PORT, Gateway } from '../../gateway/index.ts'
import { countArg } from '../support/args.ts'
import { runUntilStopped } from '../support/service.ts'

interface GatewayFlags {
  listen?: string
  blockTimeout?: number
}

export function registerGateway (program: Command): void {
  program.command('gateway')
    .description('serve the cluster over HTTP: /ipfs and /ipns paths (read-only), trustless CAR and block responses, and the cluster status page at /')
    .option('--listen <host:port>', `where to listen (default ${DEFAULT_GATEWAY_HOST}:${DEFAULT_GATEWAY_PORT}: loopback only; 0.0.0.0:8080 exposes it)`)
    .option('--block-timeout <ms>', 'fail a request with 504 when one block takes longer (default 30000)', countArg(100, 3_600_000))
    .addHelpText('after', `
Examples:
  cairn gateway                                  # http://127.0.0.1:8080/
  curl http://127.0.0.1:8080/ipfs/<cid>/photo.jpg
  curl -H 'Accept: application/vnd.ipld.car' \\
    http://127.0.0.1:8080/ipfs/<cid> > dag.car`)
    .action(async (flags: GatewayFlags, command: Command) => {
      const { host, port } = parseListen(flags.listen)
      const settings = await clientSettings((command.optsWithGlobals() as { config?: string }).config)
      const log = createLogger('gateway')
      const client = await CairnClient.connect({ namenode: settings.namenode, clusterKey: settings.clusterKey })
      const gateway = new Gateway({
        client,
        host,
        port,
        ...(flags.blockTimeout === undefined ? {} : { blockTimeoutMs: flags.blockTimeout }),
        onError: (err, url) => { log.warn(`${url}: ${(err as Error).message}`) }
      })
      try {
        await gateway.start()
      } catch (err) {
        await client.close()
        const code = (err as NodeJS.ErrnoException).code
        throw new InvalidArgumentError(`cannot listen on ${host}:${port}: ${code === 'EADDRINUSE' ? 'the port is taken' : (err as Error).message}`, {
          cause: err,
          hint: 'choose another with --listen 127.0.0.1:<port>'
        })
      }
      process.stdout.write(`${gateway.url}/\n`)
      // a namenode restart needs nothing here: the client dials it again on the next request
      await runUntilStopped('gateway', {
        stop: async () => {
          await gateway.stop()
          await client.close()
        }
      }, { url: `${gateway.url}/` })
    })
}

/** `host:port`, `:port`, `port` or `[v6]:port`. */
export function parseListen (text: string | undefined): { host: string, port: number } {
  if (text === undefined) return { host: DEFAULT_GATEWAY_HOST, port: DEFAULT_GATEWAY_PORT }
  const match = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d+)$/.exec(text.trim())
  const port = Number(match?.[3])
  if (match === null || !Number.isSafeInteger(port) || port > 65535) {
    throw new InvalidArgumentError(`--listen ${text} is not host:port`, { hint: 'e.g. --listen 127.0.0.1:8080, or 0.0.0.0:8080 to serve other machines' })
  }
  const host = match[1] ?? (match[2] === undefined || match[2] === '' ? DEFAULT_GATEWAY_HOST : match[2])
  return { host, port }
}
