import type { ContentPath } from '../content/cid.ts'
import type { StatResult } from '../protocol/messages.ts'
import type { ClientContext } from './context.ts'
import { entryInfo, resolveEntry } from './resolve.ts'
import type { EntryInfo } from './resolve.ts'

export interface StatInfo extends EntryInfo {
  /** What the namenode knows: pin state, blocks, copies. */
  cluster: StatResult
}

export async function stat (ctx: ClientContext, path: ContentPath, signal?: AbortSignal): Promise<StatInfo> {
  const entry = await resolveEntry(ctx, path, signal)
  const info = entryInfo(entry)
  return { ...info, cluster: await ctx.namenode.stat(entry.cid, signal) }
}
