// `egov-ops agent --config FILE`: runs one agent until stopped (SIGINT/SIGTERM).

import { Command } from 'commander';
import { Agent, loadAgentConfig } from '../agents/index.js';

export function registerAgentCommand(program: Command): Command {
  return program
    .command('agent')
    .description('run one agent for one network zone: SNMP polling, traps, syslog, shipped to the monitor over mTLS through a disk-backed outbox')
    .requiredOption('--config <file>', 'agent config, YAML or JSON: name, zone, monitorUrl, caFile, dataDir, enrolmentCode (first start), pollIntervalSeconds, traps.port, syslog.udpPort/tcpPort')
    .addHelpText('after', '\nThe first start enrols with the one-time code (`egov-ops access code --role agent` on the server); the key stays in dataDir.')
    .action(async (o) => {
      const say = (line: string) => process.stderr.write(line + '\n');
      const agent = await Agent.start(loadAgentConfig(o.config), { info: say, warn: (line) => say(`warning: ${line}`) });
      const stop = async () => {
        await agent.stop();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
