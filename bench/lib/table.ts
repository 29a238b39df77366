export interface Table {
  title: string
  head: string[]
  rows: string[][]
  /** Printed under the table: how to read it. */
  notes?: string[]
}

/** Plain-text columns two spaces apart, so the output pastes into an issue as is. */
export function renderTable (table: Table): string {
  const all = [table.head, ...table.rows]
  const widths: number[] = []
  for (const row of all) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, [...cell].length) })
  const line = (row: string[]): string => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  const rule = '-'.repeat(widths.reduce((sum, w) => sum + w, 0) + 2 * Math.max(0, widths.length - 1))
  const out = [`== ${table.title} ==`, line(table.head), rule, ...table.rows.map(line)]
  for (const note of table.notes ?? []) out.push(`  ${note}`)
  return `${out.join('\n')}\n`
}
