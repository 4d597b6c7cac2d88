#!/usr/bin/env node
// The egov-ops command. Business logic lives in the modules; each command
// group's file in cli/ parses its arguments, calls them, and prints what
// happened. A group's file, and the modules behind it, is loaded only when
// that group is called: `egov-ops snmp walk` loads neither the CA, the
// database layer nor the HTTP server, because scripts pay start-up on
// every call.

import { Command } from 'commander';
// The light front door of core: errors only, no storage or HTTP behind it.
import { asEgovError } from '../core/errors.js';

type Register = (program: Command) => unknown;

/** Top-level words and the file that adds them, in the order `--help` lists them. */
const GROUPS: Array<{ words: readonly string[]; load: () => Promise<Register> }> = [
  { words: ['ca'], load: async () => (await import('./ca.js')).registerCaCommands },
  { words: ['audit-log'], load: async () => (await import('./audit-log.js')).registerAuditLogCommands },
  { words: ['serve'], load: async () => (await import('./serve-command.js')).registerServeCommand },
  { words: ['backup'], load: async () => (await import('./backup.js')).registerBackupCommands },
  { words: ['access'], load: async () => (await import('./access.js')).registerAccessCommands },
  { words: ['node', 'link', 'logs', 'status'], load: async () => (await import('./monitor.js')).registerMonitorCommands },
  { words: ['agent'], load: async () => (await import('./agent.js')).registerAgentCommand },
  { words: ['snmp'], load: async () => (await import('./snmp.js')).registerSnmpCommands },
  { words: ['dashboards'], load: async () => (await import('./dashboards.js')).registerDashboardsCommands },
  { words: ['playbook'], load: async () => (await import('./playbook.js')).registerPlaybookCommands },
  { words: ['cluster'], load: async () => (await import('./cluster.js')).registerClusterCommands },
  { words: ['alerts', 'maintenance'], load: async () => (await import('./alerts.js')).registerAlertsCommands },
  { words: ['kb'], load: async () => (await import('./kb.js')).registerKbCommands },
  { words: ['audit'], load: async () => (await import('./audit.js')).registerAuditCommands },
];

/** Global options that take a value: their value is not the command word. */
const GLOBALS_WITH_VALUE = new Set(['--data-dir', '--config', '--passphrase-file']);

/** The first word of the command line that is not a global option or its value. */
function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (GLOBALS_WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

const program = new Command();
program
  .name('egov-ops')
  .description('Operations suite for the e-government networks: certificate authority, monitoring, backup, grade-protection audits.')
  .version('0.1.0')
  .option('--data-dir <dir>', 'data directory (else EGOV_OPS_DATA_DIR, else ./data)')
  .option('--config <file>', 'config file, YAML or JSON (else EGOV_OPS_CONFIG, else DATA_DIR/config.yaml if present)')
  .option('--passphrase-file <file>', 'CA key passphrase file (else EGOV_OPS_CA_PASSPHRASE, else a prompt)')
  .option('--json', 'print JSON for scripts')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 internal error, 2 bad input or usage, 3 not found,
4 refused by policy or conflict, 5 authentication (e.g. wrong passphrase),
6 verification failed (e.g. broken audit chain), 7 a service unavailable.`,
  );

async function main(): Promise<void> {
  const word = commandWord(process.argv.slice(2));
  const called = GROUPS.filter((group) => word !== undefined && group.words.includes(word));
  // No command, `help`, or an unknown word: every group, for the full help or commander's suggestion.
  for (const group of called.length ? called : GROUPS) (await group.load())(program);
  await program.parseAsync(process.argv);
}

main().catch((error: unknown) => {
  const egov = asEgovError(error);
  if (program.opts<{ json?: boolean }>().json) process.stdout.write(JSON.stringify({ error: egov.toJSON() }, null, 2) + '\n');
  process.stderr.write(`egov-ops: ${egov.message}\n`);
  process.exitCode = egov.exitCode;
});
