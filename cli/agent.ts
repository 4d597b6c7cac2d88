// `egov-ops agent --config FILE`: runs one agent until stopped (SIGINT/SIGTERM).

import { Command } from 'commander';
import { Agent, loadAgentConfig } from '../agents/index.js';

export function registerAgentCommand(program: Command): Command {
  return program
    .command('agent')
    .description('run one agent for one network zone: SNMP polling, traps, syslog, shipped to the monitor over mTLS through a disk-backed outbox')
    // The program's global --config (the suite's config file) takes the option wherever it stands, so the file is read from there too.
    .option('--config <file>', 'agent config, YAML or JSON: name, zone, monitorUrl, caFile, dataDir, enrolmentCode (first start), pollIntervalSeconds, traps.port, syslog.udpPort/tcpPort')
    .addHelpText('after', '\nThe first start enrols with the one-time code (`egov-ops access code --role agent` on the server); the key stays in dataDir.')
    .action(async (o, command: Command) => {
      const say = (line: string) => process.stderr.write(line + '\n');
      const file = (o.config ?? command.parent?.opts().config) as string | undefined;
      if (!file) command.error("error: required option '--config <file>' not specified", { exitCode: 2 });
      const agent = await Agent.start(loadAgentConfig(file!), { info: say, warn: (line) => say(`warning: ${line}`) });
      const stop = async () => {
        await agent.stop();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
