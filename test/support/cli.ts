// A command group of the CLI registered on a program with the suite's global
// options (cli/main.ts adds them the same way) and run in-process: what it
// printed, the exit code it set, and the error commander or the command threw.
import { Command } from 'commander';
import { vi } from 'vitest';

export interface CliRun {
  stdout: string;
  exitCode: number | undefined;
  error?: Error;
}

export interface InProcessCliOptions {
  /** Every subcommand throws instead of exiting and stays silent on stderr (for refused options). */
  quietSubcommands?: boolean;
}

export function inProcessCli(register: (program: Command) => void, options: InProcessCliOptions = {}): (args: string[]) => Promise<CliRun> {
  return async (args) => {
    const program = new Command().exitOverride().option('--data-dir <dir>').option('--config <file>').option('--passphrase-file <file>').option('--json');
    register(program);
    if (options.quietSubcommands) {
      const output = { writeErr: () => undefined, writeOut: (s: string) => void process.stdout.write(s) };
      program.configureOutput(output);
      for (const c of program.commands) for (const sub of c.commands) for (const leaf of [sub, ...sub.commands]) leaf.exitOverride().configureOutput(output);
    }
    let stdout = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
    process.exitCode = undefined;
    let error: Error | undefined;
    try {
      await program.parseAsync(['node', 'egov-ops', ...args]);
    } catch (e) {
      error = e as Error;
    } finally {
      spy.mockRestore();
    }
    const exitCode = process.exitCode as number | undefined;
    process.exitCode = undefined;
    return { stdout, exitCode, ...(error ? { error } : {}) };
  };
}
