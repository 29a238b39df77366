import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/**
 * CPU time from /proc (Linux only; undefined elsewhere). On a 2-core box
 * the CPU seconds next to the wall seconds say whether a transfer waits on
 * the disk and the network or is simply out of processor.
 */
let ticks: number | undefined

function clockTicks (): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticks = 100
    }
  }
  return ticks
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is field 3, the state. */
function statFields (pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

const UTIME = 11
const STIME = 12
const CUTIME = 13
const CSTIME = 14
const PPID = 1

/**
 * CPU seconds of our children that have exited and been waited for. The
 * difference around one child's run is that child's CPU time, as long as
 * no other child ends meanwhile.
 */
export function exitedChildrenCpuSeconds (): number | undefined {
  const f = statFields('self')
  if (f === undefined) return undefined
  return (Number(f[CUTIME]) + Number(f[CSTIME])) / clockTicks()
}

/** CPU seconds used so far by a live process and all its live descendants. */
export function treeCpuSeconds (root: number): number | undefined {
  if (statFields(root) === undefined) return undefined
  const byParent = new Map<number, number[]>()
  const cpu = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const f = statFields(Number(name))
    if (f === undefined) continue
    const pid = Number(name)
    const ppid = Number(f[PPID])
    const siblings = byParent.get(ppid)
    if (siblings === undefined) byParent.set(ppid, [pid])
    else siblings.push(pid)
    cpu.set(pid, Number(f[UTIME]) + Number(f[STIME]))
  }
  let total = 0
  const queue = [root]
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    total += cpu.get(pid) ?? 0
    queue.push(...(byParent.get(pid) ?? []))
  }
  return total / clockTicks()
}
