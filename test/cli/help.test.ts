import type { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { buildProgram } from '../../cli/program.ts'

/** Every command and subcommand, with its full name. */
function commands (command: Command, prefix = ''): Array<{ name: string, command: Command }> {
  const name = `${prefix}${command.name()}`
  return [{ name, command }, ...command.commands.flatMap((sub) => commands(sub, `${name} `))]
}

describe('cairn --help', () => {
  // examples are written by hand (addHelpText); a long one wraps badly in an 80-column terminal
  it('every command\'s help, examples included, fits in 80 columns', () => {
    const wide: string[] = []
    const all = commands(buildProgram())
    for (const { name, command } of all) {
      let text = ''
      command.configureOutput({ writeOut: (s) => { text += s }, getOutHelpWidth: () => 80 })
      command.outputHelp()
      for (const line of text.split('\n')) if (line.length > 80) wide.push(`${name}: ${line.length}: ${line}`)
    }
    expect(all.length).toBeGreaterThan(30)
    expect(wide).toEqual([])
  })
})
