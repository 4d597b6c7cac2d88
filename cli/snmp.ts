// `egov-ops snmp get|walk`: net-snmp-tools-style flags (-v -c -l -u -a -A
// -x -X -t -r), output like `snmpget -On` / `snmpbulkwalk -On`, or --json.
// Parses arguments, calls agents/snmp, prints what came back. Passwords
// and communities may come from the environment instead of the command
// line (EGOV_OPS_SNMP_COMMUNITY, EGOV_OPS_SNMP_AUTH_PASS,
// EGOV_OPS_SNMP_PRIV_PASS); they are never printed.

import { Command, CommanderError } from 'commander';
import {
  checkPassphrase,
  describeEndpoint,
  formatVarbind,
  parseAuthProtocol,
  parseEndpoint,
  parseOid,
  parsePrivProtocol,
  parseSecurityLevel,
  SnmpSession,
  varbindToJson,
  DEFAULT_MAX_REPETITIONS,
  DEFAULT_TIMING,
  type Credentials,
  type Endpoint,
  type Oid,
  type Timing,
  type Varbind,
} from '../agents/snmp/index.js';
import { EgovError } from '../core/errors.js';

/** The flags as commander hands them over (strings, as typed). */
export interface SnmpFlags {
  version?: string;
  community?: string;
  level?: string;
  user?: string;
  authProtocol?: string;
  authPass?: string;
  privProtocol?: string;
  privPass?: string;
  timeout?: string;
  retries?: string;
  appOptions?: string;
  outputOptions?: string;
  json?: boolean;
}

export interface SnmpRequest {
  endpoint: Endpoint;
  credentials: Credentials;
  timing: Timing;
}

const usage = (message: string) => new EgovError('bad-request', message);

/** Version, credentials and timing from flags and environment; a usage error (exit 2) when something is missing or wrong. */
export function resolveSnmpRequest(target: string, flags: SnmpFlags, env: NodeJS.ProcessEnv = process.env): SnmpRequest {
  const endpoint = parseEndpoint(target);
  const version = flags.version ?? (flags.user || flags.level ? '3' : '2c');
  if (version !== '1' && version !== '2c' && version !== '3') throw usage(`-v ${version}: the version is 1, 2c or 3`);
  return { endpoint, credentials: resolveCredentials(version, flags, env), timing: resolveTiming(flags) };
}

function resolveCredentials(version: '1' | '2c' | '3', flags: SnmpFlags, env: NodeJS.ProcessEnv): Credentials {
  if (version !== '3') {
    const community = flags.community ?? env.EGOV_OPS_SNMP_COMMUNITY;
    if (!community) throw usage(`SNMPv${version} needs a community: -c COMMUNITY or EGOV_OPS_SNMP_COMMUNITY`);
    return { version, community };
  }
  const user = flags.user;
  if (!user) throw usage('SNMPv3 needs a user: -u USER');
  const authPassword = flags.authPass ?? env.EGOV_OPS_SNMP_AUTH_PASS;
  const privPassword = flags.privPass ?? env.EGOV_OPS_SNMP_PRIV_PASS;
  // Without -l, the level follows from the passphrases given (net-snmp's tools would silently use noAuthNoPriv).
  const level = flags.level ? parseSecurityLevel(flags.level) : privPassword ? 'authPriv' : authPassword ? 'authNoPriv' : 'noAuthNoPriv';
  if (level === 'noAuthNoPriv') return { version, user, level };
  if (!flags.authProtocol) throw usage(`${level} needs an auth protocol: -a MD5|SHA|SHA-224|SHA-256|SHA-384|SHA-512`);
  if (!authPassword) throw usage(`${level} needs an auth passphrase: -A PASSPHRASE or EGOV_OPS_SNMP_AUTH_PASS`);
  const authProtocol = parseAuthProtocol(flags.authProtocol);
  checkPassphrase('auth', authPassword);
  if (level === 'authNoPriv') return { version, user, level, authProtocol, authPassword };
  if (!flags.privProtocol) throw usage('authPriv needs a privacy protocol: -x DES|AES|AES-256');
  if (!privPassword) throw usage('authPriv needs a privacy passphrase: -X PASSPHRASE or EGOV_OPS_SNMP_PRIV_PASS');
  checkPassphrase('privacy', privPassword);
  return { version, user, level, authProtocol, authPassword, privProtocol: parsePrivProtocol(flags.privProtocol), privPassword };
}

function resolveTiming(flags: SnmpFlags): Timing {
  const seconds = flags.timeout === undefined ? DEFAULT_TIMING.timeoutMs / 1000 : Number(flags.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) throw usage(`-t ${flags.timeout}: the timeout is a number of seconds, above 0 and at most 600`);
  const retries = flags.retries === undefined ? DEFAULT_TIMING.retries : Number(flags.retries);
  if (!Number.isInteger(retries) || retries < 0 || retries > 20) throw usage(`-r ${flags.retries}: retries is a whole number 0-20`);
  return { timeoutMs: Math.round(seconds * 1000), retries };
}

/** snmpbulkwalk's -C application options: only rN (max-repetitions) is taken. */
function maxRepetitionsFrom(appOptions: string | undefined): number {
  if (appOptions === undefined) return DEFAULT_MAX_REPETITIONS;
  const m = /^r(\d+)$/.exec(appOptions);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 1000) throw usage(`-C ${appOptions}: only -Cr N (max-repetitions, 1-1000) is supported`);
  return Number(m[1]);
}

function checkOutputOptions(outputOptions: string | undefined): void {
  // Output is always numeric (-On); accept that flag so copied command lines work.
  if (outputOptions !== undefined && outputOptions !== 'n') throw usage(`-O ${outputOptions}: only -On (numeric OIDs) is supported`);
}

async function withSession<T>(request: SnmpRequest, maxRepetitions: number, work: (session: SnmpSession) => Promise<T>): Promise<T> {
  const session = SnmpSession.open(request.endpoint, request.credentials, { timing: request.timing, maxRepetitions });
  try {
    return await work(session);
  } finally {
    session.close();
  }
}

export interface GetResult {
  target: string;
  version: Credentials['version'];
  varbinds: Varbind[];
}

/** `snmp get`: one GET carrying every OID. */
export async function snmpGet(target: string, oidTexts: string[], flags: SnmpFlags, env: NodeJS.ProcessEnv = process.env): Promise<GetResult> {
  checkOutputOptions(flags.outputOptions);
  if (oidTexts.length === 0) throw usage('give at least one OID');
  const oids = oidTexts.map(parseOid);
  const request = resolveSnmpRequest(target, flags, env);
  const varbinds = await withSession(request, DEFAULT_MAX_REPETITIONS, (session) => session.get(oids));
  return { target: describeEndpoint(request.endpoint), version: request.credentials.version, varbinds };
}

/** `snmp walk`: the subtree (default mib-2, as snmpbulkwalk), streamed to `onVarbind`. */
export async function snmpWalk(
  target: string,
  rootText: string | undefined,
  flags: SnmpFlags,
  onVarbind: (varbind: Varbind) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ target: string; root: Oid; count: number; endOfMib: boolean }> {
  checkOutputOptions(flags.outputOptions);
  const root = parseOid(rootText ?? '1.3.6.1.2.1');
  const maxRepetitions = maxRepetitionsFrom(flags.appOptions);
  const request = resolveSnmpRequest(target, flags, env);
  const { count, endOfMib } = await withSession(request, maxRepetitions, (session) => session.walk(root, onVarbind));
  // snmpwalk -v1 says so when the agent's view ended inside the subtree (noSuchName).
  return { target: describeEndpoint(request.endpoint), root, count, endOfMib: endOfMib && request.credentials.version === '1' };
}

function addSnmpFlags(command: Command): Command {
  return command
    .option('-v <version>', 'SNMP version: 1, 2c or 3 (default 2c; 3 when -u is given)')
    .option('-c <community>', 'community for v1/v2c (or EGOV_OPS_SNMP_COMMUNITY)')
    .option('-l <level>', 'v3 security level: noAuthNoPriv, authNoPriv, authPriv (default: from the passphrases given)')
    .option('-u <user>', 'v3 user')
    .option('-a <protocol>', 'v3 auth protocol: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512')
    .option('-A <passphrase>', 'v3 auth passphrase (or EGOV_OPS_SNMP_AUTH_PASS, which keeps it out of the process list)')
    .option('-x <protocol>', 'v3 privacy protocol: DES, AES (AES-128), AES-256 (AES-256C: Cisco key localisation)')
    .option('-X <passphrase>', 'v3 privacy passphrase (or EGOV_OPS_SNMP_PRIV_PASS)')
    .option('-t <seconds>', `timeout per try (default ${DEFAULT_TIMING.timeoutMs / 1000})`)
    .option('-r <retries>', `retries after the first try (default ${DEFAULT_TIMING.retries})`)
    .option('-O <flags>', 'output options; only n (numeric OIDs, always on) is accepted')
    .option('--json', 'print JSON for scripts');
}

/** Commander's option names for the short flags, as SnmpFlags. */
function flagsOf(command: Command): SnmpFlags {
  const o = command.optsWithGlobals<Record<string, string | boolean | undefined>>();
  const text = (key: string) => (typeof o[key] === 'string' ? (o[key] as string) : undefined);
  return {
    version: text('v'),
    community: text('c'),
    level: text('l'),
    user: text('u'),
    authProtocol: text('a'),
    authPass: text('A'),
    privProtocol: text('x'),
    privPass: text('X'),
    timeout: text('t'),
    retries: text('r'),
    appOptions: text('C'),
    outputOptions: text('O'),
    json: o.json === true,
  };
}

function write(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** Adds `snmp get` and `snmp walk` to the egov-ops program. */
export function registerSnmpCommands(program: Command): Command {
  const snmp = program
    .command('snmp')
    .description('ask an SNMP agent directly, as net-snmp\'s snmpget and snmpbulkwalk do (v1, v2c, v3 with SHA-2 and AES)')
    // Usage mistakes are exit 2 like every bad-request; commander would exit 1 and print twice.
    .configureOutput({ outputError: () => undefined })
    .exitOverride((error: CommanderError) => {
      if (error.exitCode === 0) return; // --help, --version: commander exits 0
      throw new EgovError('bad-request', error.message.replace(/^error: /, ''));
    });

  addSnmpFlags(snmp.command('get'))
    .description('GET one or more OIDs; prints `.OID = TYPE: value` lines like `snmpget -On`')
    .argument('<target>', 'agent: HOST[:PORT], udp:HOST:PORT or udp6:[ADDR]:PORT (port 161 by default)')
    .argument('<oid...>', 'numeric OIDs (.1.3.6.1.2.1.1.3.0) or well-known names with an instance (sysUpTime.0)')
    .action(async (target: string, oids: string[], _options: unknown, command: Command) => {
      const flags = flagsOf(command);
      const result = await snmpGet(target, oids, flags);
      if (flags.json) write(JSON.stringify({ ...result, varbinds: result.varbinds.map(varbindToJson) }, null, 2));
      else write(result.varbinds.map(formatVarbind).join('\n'));
    });

  addSnmpFlags(snmp.command('walk'))
    .description('walk a subtree (default mib-2) with GETBULK (GETNEXT for v1); prints lines like `snmpbulkwalk -On`')
    .argument('<target>', 'agent: HOST[:PORT], udp:HOST:PORT or udp6:[ADDR]:PORT')
    .argument('[oid]', 'subtree root (default .1.3.6.1.2.1)')
    .option('-C <options>', 'rN: max-repetitions per GETBULK (default 25), as snmpbulkwalk -Cr')
    .action(async (target: string, root: string | undefined, _options: unknown, command: Command) => {
      const flags = flagsOf(command);
      if (flags.json) {
        const varbinds: Varbind[] = [];
        const result = await snmpWalk(target, root, flags, (v) => varbinds.push(v));
        return write(JSON.stringify({ ...result, varbinds: varbinds.map(varbindToJson) }, null, 2));
      }
      // Stream: a whole-MIB walk prints as it goes, in chunks rather than a write per line.
      let pending: string[] = [];
      const flush = () => {
        if (pending.length) process.stdout.write(pending.join('\n') + '\n');
        pending = [];
      };
      try {
        const { endOfMib } = await snmpWalk(target, root, flags, (varbind) => {
          pending.push(formatVarbind(varbind));
          if (pending.length >= 256) flush();
        });
        if (endOfMib) pending.push('End of MIB');
      } finally {
        flush(); // what came before an error is still printed, as snmpbulkwalk does
      }
    });

  return snmp;
}
