// `egov-ops serve`: the long-running suite (see serve.ts for what it starts).

import type { Command } from 'commander';
import { openSuite, passphraseSource, type GlobalOptions } from './context.js';
import { startServer } from './serve.js';

/** Adds `serve` (and `serve --demo`, the README's first command) to the egov-ops program. */
export function registerServeCommand(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  return program
    .command('serve')
    .description('serve /ca/NAME.crt, /crl/NAME.crl, /ocsp/NAME over HTTP, and the registration desk and API over HTTPS with client certificates; builds CRLs and runs backups on schedule')
    .option('--port <n>', 'plain HTTP port for CA certificates, CRLs, OCSP (default from config: 8080)', (v) => Number(v))
    .option('--tls-port <n>', 'HTTPS port with client certificates: the desk and the API (default from config: 8443)', (v) => Number(v))
    .option('--host <addr>', 'address to listen on (default 127.0.0.1)')
    .option('--demo', 'first run: create demo hierarchies (SM2 and ECDSA) with a demo passphrase kept in the data directory')
    .action(async (o) => {
      if (o.demo) return (await import('./demo.js')).startDemo(globals(), { port: o.port, tlsPort: o.tlsPort, host: o.host });
      const suite = await openSuite(globals());
      const { address, secure } = await startServer(suite, { port: o.port, tlsPort: o.tlsPort, host: o.host, passphrase: passphraseSource(globals()), announce: (line) => process.stderr.write(line + '\n') });
      process.stderr.write(`egov-ops serving on ${address} (public: CA certificates, CRLs, OCSP)${secure ? ` and ${secure.address} (client certificates: desk at /desk, API)` : ''} (data in ${suite.config.dataDir}, ${suite.database.dialect})\n`);
      const stop = async () => {
        await suite.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
