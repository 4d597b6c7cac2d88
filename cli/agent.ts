// `egov-ops agent --config FILE`: runs one agent until stopped (SIGINT/SIGTERM).

import { Command } from 'commander';
import { Agent, loadAgentConfig } from '../agents/index.js';
import { EgovError } from '../core/errors.js';

export function registerAgentCommand(program: Command): Command {
  return program
    .command('agent')
    .description('run one agent for one network zone: SNMP polling, traps, syslog, shipped to the monitor over mTLS through a disk-backed outbox')
    // The program's global --config takes the option wherever it stands on the line (found by the
    // agent fault test: `egov-ops agent --config FILE` never reached this command's own option).
    .option('--config <file>', 'agent config, YAML or JSON: name, zone, monitorUrl, caFile, dataDir, enrolmentCode (first start), pollIntervalSeconds, traps.port, syslog.udpPort/tcpPort')
    .addHelpText('after', '\nThe first start enrols with the one-time code (`egov-ops access code --role agent` on the server); the key stays in dataDir.')
    .action(async (o) => {
      const say = (line: string) => process.stderr.write(line + '\n');
      const file = (o.config as string | undefined) ?? program.opts<{ config?: string }>().config;
      if (!file) throw new EgovError('bad-request', 'egov-ops agent needs --config FILE (the agent config, YAML or JSON)');
      const agent = await Agent.start(loadAgentConfig(file), { info: say, warn: (line) => say(`warning: ${line}`) });
      const stop = async () => {
        await agent.stop();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
