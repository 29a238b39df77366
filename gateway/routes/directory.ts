import { exporter } from 'ipfs-unixfs-exporter'
import type { UnixFSDirectory } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { formatBytes, isCode, NotFoundError } from '../../core/index.ts'
import type { ContentContext } from '../context.ts'
import { etagMatches } from '../headers.ts'
import { escapeHtml, page } from '../html.ts'
import { encodePath } from '../request.ts'
import { send } from '../respond.ts'
import { serveFile } from './file.ts'
import { listDirectory } from '../../core/index.ts'
import type { Listed } from '../../core/index.ts'

/** Bumped when the listing's markup changes, so cached listings are not reused. */
const LISTING_VERSION = 1

/**
 * A directory: redirect to the trailing-slash form (so relative links in
 * it resolve inside it), serve its index.html, or list it. The listing
 * comes from the directory's links alone (for a HAMT, its shard nodes),
 * never from fetching each child: see core/content/list-directory.ts.
 */
export async function serveDirectory (ctx: ContentContext): Promise<void> {
  const { request, resolved } = ctx
  const entry = resolved.entry as UnixFSDirectory
  if (!request.trailingSlash) {
    const search = request.query.toString()
    const location = `${encodePath(request.namespace ?? 'ipfs', request.id, request.segments)}/${search === '' ? '' : `?${search}`}`
    send(ctx.res, 301, { ...ctx.common, Location: location, 'Content-Type': 'text/plain; charset=utf-8' }, `Moved to ${location}\n`, ctx.head)
    return
  }
  const index = await findIndex(ctx, entry.cid)
  if (index !== undefined) {
    await serveFile({ ...ctx, resolved: { ...resolved, entry: index, roots: [...resolved.roots, index.cid], segments: [...resolved.segments, 'index.html'] } })
    return
  }

  const etag = `"DirIndex-${LISTING_VERSION}_CID-${entry.cid.toString()}"`
  const headers = { ...ctx.common, ETag: etag, 'Content-Type': 'text/html; charset=utf-8' }
  if (etagMatches(ctx.req.headers['if-none-match'], etag)) {
    send(ctx.res, 304, headers, '', true)
    return
  }
  const listed = await listDirectory(ctx.blocks, entry.cid, ctx.signal)
  send(ctx.res, 200, headers, renderListing(ctx, entry.cid, listed), ctx.head)
}

async function findIndex (ctx: ContentContext, dir: CID): Promise<Awaited<ReturnType<typeof exporter>> | undefined> {
  const store = { async * get (cid: CID, opts?: { signal?: AbortSignal }) { yield await ctx.blocks.get(cid, opts) } }
  try {
    const index = await exporter(`${dir.toString()}/index.html`, store, { signal: ctx.signal })
    return index.type === 'file' && index.unixfs.type !== 'symlink' ? index : index.type === 'raw' ? index : undefined
  } catch (err) {
    if (isCode(err, NotFoundError) || (err as Error).name === 'NotFoundError') return undefined
    throw err
  }
}

function renderListing (ctx: ContentContext, dir: CID, listed: Listed[]): string {
  const { request } = ctx
  const base = encodePath(request.namespace ?? 'ipfs', request.id, request.segments)
  const title = `/${request.namespace ?? 'ipfs'}/${[request.id, ...request.segments].join('/')}/`
  const crumbs = [`<a href="/${request.namespace ?? 'ipfs'}/${encodeURIComponent(request.id)}/">${escapeHtml(request.id)}</a>`]
  request.segments.forEach((segment, i) => {
    crumbs.push(`<a href="${encodePath(request.namespace ?? 'ipfs', request.id, request.segments.slice(0, i + 1))}/">${escapeHtml(segment)}</a>`)
  })
  const total = listed.reduce((n, l) => n + l.size, 0)
  const rows = listed.map((l) => {
    const href = `${base}/${encodeURIComponent(l.name)}`
    return `<tr><td><a href="${href}">${escapeHtml(l.name)}</a></td><td class="num">${formatBytes(l.size)}</td><td class="cid mono opt"><a href="/ipfs/${l.cid.toString()}?filename=${encodeURIComponent(l.name)}">${l.cid.toString()}</a></td></tr>`
  })
  const parent = request.segments.length === 0
    ? ''
    : `<tr><td><a href="${encodePath(request.namespace ?? 'ipfs', request.id, request.segments.slice(0, -1))}/">..</a></td><td></td><td class="opt"></td></tr>`
  return page(title, `<h1>Index of ${crumbs.join(' / ')}</h1>
<p class="muted">${listed.length.toLocaleString('en-US')} entries, ${formatBytes(total)} &middot; <span class="mono cid">${dir.toString()}</span> &middot; <a href="${base}/?format=car">CAR</a></p>
<div class="table"><table>
<thead><tr><th>name</th><th class="num">size</th><th class="opt">CID</th></tr></thead>
<tbody>
${parent}${rows.join('\n')}
</tbody></table></div>
<p class="muted">Sizes are those recorded in the directory's links (the size of each entry's DAG).</p>`)
}
