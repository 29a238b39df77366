/**
 * What the native build scripts share: finding a C compiler and Node's
 * headers without node-gyp (which would download headers, and only the npm
 * registry is reachable on the machines this project targets).
 *
 * Plain JavaScript on purpose: postinstall may run under any Node npm
 * finds, before the project's own Node is usable.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

/** Problems of the machine (no compiler, no headers): the prebuilt binding stays, with a warning. */
export class BuildToolsMissingError extends Error {
  name = 'BuildToolsMissingError'
  code = 'ERR_BUILD_TOOLS_MISSING'
}

/** Node's headers for the compile: N-API is ABI-stable, so any Node's do; fuse-native.c also includes uv.h. */
export function nodeIncludeDir (require) {
  const candidates = [path.join(path.dirname(process.execPath), '..', 'include', 'node')]
  try {
    // the `node` package (the project's Node) keeps its headers in its platform package
    const nodePackage = path.dirname(require.resolve('node/package.json'))
    const platformPackage = createRequire(path.join(nodePackage, 'package.json')).resolve(`node-${process.platform}-${process.arch}/package.json`)
    candidates.push(path.join(path.dirname(platformPackage), 'include', 'node'))
  } catch {}
  candidates.push('/usr/include/node', '/usr/local/include/node')
  const found = candidates.find((dir) => existsSync(path.join(dir, 'node_api.h')) && existsSync(path.join(dir, 'uv.h')))
  if (found === undefined) throw new BuildToolsMissingError(`no Node headers (node_api.h and uv.h) in ${candidates.join(', ')}`)
  return found
}

export function compiler () {
  for (const cc of [process.env.CC, 'cc', 'gcc'].filter(Boolean)) {
    const probe = spawnSync(cc, ['--version'], { stdio: 'ignore' })
    if (probe.error === undefined && probe.status === 0) return cc
  }
  throw new BuildToolsMissingError('no C compiler (cc or gcc)')
}

