// `egov-ops snmp get|walk` against a real snmpd, compared with net-snmp's
// own snmpget/snmpbulkwalk -On on the same agent: OID for OID, value for
// value. Static values (override/pass in snmpd.conf) cover every printer
// branch exactly; live subtrees (system, IF-MIB, hrStorage) are bracketed
// by a tool walk before and after ours, since counters move between walks.

import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseEndpoint, SnmpSession } from '../agents/snmp/index.js';
import { registerSnmpCommands } from '../cli/snmp.js';
import { asEgovError } from '../core/index.js';
import { startSnmpd, type Snmpd } from './support/snmpd.js';

const STATIC = '.1.3.6.1.4.1.99999';

/** The values every branch of the printer needs, served by snmpd itself. */
function staticValues(dir: string): string[] {
  const script = path.join(dir, 'pass.sh');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      '# snmpd pass script: Counter64, IpAddress and Opaque at .1.3.6.1.4.1.99999.2.N (override cannot make these)',
      'value() {',
      '  case "$1" in',
      '    1) echo counter64; echo 18446744073709551615;;',
      '    2) echo counter64; echo 9223372036854775808;;',
      '    3) echo counter64; echo 0;;',
      '    4) echo ipaddress; echo 10.1.2.3;;',
      '    5) echo opaque; echo 4;;',
      '  esac',
      '}',
      'base=.1.3.6.1.4.1.99999.2',
      'case "$1" in',
      '  -g) n=${2#$base.}; case "$n" in 1|2|3|4|5) echo "$2"; value "$n";; *) echo NONE;; esac;;',
      '  -n) case "$2" in',
      '        $base|$base.0) n=1;;',
      '        $base.1) n=2;; $base.2) n=3;; $base.3) n=4;; $base.4) n=5;;',
      '        *) echo NONE; exit 0;;',
      '      esac',
      '      echo "$base.$n"; value "$n";;',
      '  *) echo NONE;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  const o = (n: number, type: string, value: string) => `override ${STATIC}.1.${n} ${type} ${value}`;
  return [
    o(1, 'octet_str', '0x' + Buffer.from(Array.from({ length: 35 }, (_, i) => i)).toString('hex')), // three hex lines
    o(2, 'octet_str', '0x' + 'ab'.repeat(16)), // exactly one full line
    o(3, 'octet_str', '0x' + 'cd'.repeat(32)), // exactly two full lines
    o(4, 'octet_str', '"say \\"hi\\" \\\\ back"'), // quotes and a backslash, escaped on output
    o(5, 'octet_str', '""'),
    o(6, 'octet_str', '0x48656c6c6f0a576f726c64'), // printable with a newline: a two-line STRING
    o(7, 'octet_str', '0x7461620968657265'), // a tab is printable (isspace)
    o(8, 'octet_str', '0x41427f43'), // DEL is not: hex
    o(9, 'octet_str', '0xe694bfe58aa1e5a496e7bd91'), // UTF-8 (政务外网): net-snmp prints bytes >= 0x80 as hex
    o(10, 'integer', '-42'),
    o(11, 'integer', '2147483647'),
    o(12, 'timeticks', '0'),
    o(13, 'timeticks', '8640000'), // 1 day
    o(14, 'timeticks', '17280123'), // 2 days
    o(15, 'timeticks', '4294967295'),
    o(16, 'unsigned', '4294967295'), // Gauge32
    o(17, 'counter', '4294967295'),
    o(18, 'object_id', '.1.3.6.1.4.1.8072.3.2.10'),
    o(19, 'octet_str', '0x00'),
    // A community that sees only the static subtree: its view ends inside .1.3.6.1.4.1.
    'rocommunity viewed 127.0.0.1 .1.3.6.1.4.1.99999',
    `pass ${STATIC}.2 /bin/sh ${script}`,
  ];
}

let agent: Snmpd;

beforeAll(async () => {
  agent = await startSnmpd({ extraConfig: staticValues });
});
afterAll(async () => agent?.dispose());

interface CliRun {
  stdout: string;
  exitCode: number;
  error?: string;
}

/** `egov-ops snmp …` in-process, with cli/main.ts's error handling (message to stderr, exit code from the error). */
async function egov(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const program = new Command().name('egov-ops').option('--json');
  registerSnmpCommands(program);
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    await program.parseAsync(['node', 'egov-ops', ...args]);
    return { stdout, exitCode: 0 };
  } catch (error) {
    const egovError = asEgovError(error);
    return { stdout, exitCode: egovError.exitCode, error: egovError.message };
  } finally {
    spy.mockRestore();
    for (const key of Object.keys(env)) if (saved[key] === undefined) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

const v2c = () => ['-v', '2c', '-c', agent.community];
const v3 = () => ['-v', '3', '-l', 'authPriv', '-u', agent.authPriv.user, '-a', 'SHA-256', '-A', agent.authPriv.authPassword, '-x', 'AES', '-X', agent.authPriv.privPassword];

async function toolWalk(credentials: string[], root: string): Promise<string> {
  const r = await agent.tool('snmpbulkwalk', ['-On', '-Cr25', ...credentials, agent.target, root]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** Splits walk output into entries (a value may span lines: a hex dump, a string with a newline). */
function entries(text: string): Array<{ oid: string; value: string }> {
  const result: Array<{ oid: string; value: string }> = [];
  for (const line of text.split('\n')) {
    const m = /^(\.[\d.]+) = (.*)$/.exec(line);
    if (m) result.push({ oid: m[1]!, value: m[2]! });
    else if (result.length && line !== '') result[result.length - 1]!.value += '\n' + line;
  }
  return result;
}

/** Counters and clocks may move between the walks; anything else must be identical. */
function expectBracketed(ours: string, before: string, after: string): void {
  const [o, b, a] = [entries(ours), entries(before), entries(after)];
  expect(o.map((e) => e.oid)).toEqual(b.map((e) => e.oid));
  expect(o.map((e) => e.oid)).toEqual(a.map((e) => e.oid));
  o.forEach((entry, i) => {
    const low = b[i]!.value;
    const high = a[i]!.value;
    if (low === high) return expect(entry.value, entry.oid).toBe(low);
    const number = (v: string) => BigInt(/^(?:Counter32|Counter64|Gauge32|INTEGER): (\d+)$/.exec(v)?.[1] ?? /^Timeticks: \((\d+)\)/.exec(v)?.[1] ?? 'x');
    expect(entry.value.split(':')[0], entry.oid).toBe(low.split(':')[0]);
    const [n, lo, hi] = [number(entry.value), number(low), number(high)];
    if (/^Gauge32|^INTEGER/.test(low)) return; // a gauge may move either way between walks
    expect(n >= lo && n <= hi, `${entry.oid}: ${entry.value} not within ${low} .. ${high}`).toBe(true);
  });
}

describe('snmp walk output equals snmpbulkwalk -On', () => {
  it('static values: every type and printer edge, byte for byte (v2c)', async () => {
    const tool = await toolWalk(v2c(), STATIC);
    const ours = await egov(['snmp', 'walk', ...v2c(), agent.target, STATIC]);
    expect(ours.exitCode).toBe(0);
    expect(ours.stdout).toBe(tool);
    // The printer branches really were exercised.
    for (const marker of ['Counter64: 18446744073709551615', 'Timeticks: (17280123) 2 days, 0:00:01.23', 'Timeticks: (8640000) 1 day, 0:00:00.00', 'IpAddress: 10.1.2.3', 'OPAQUE: ', '= ""', 'STRING: "say \\"hi\\" \\\\ back"', 'Hex-STRING: 00 01 02', 'INTEGER: -42', 'Gauge32: 4294967295', 'Counter32: 4294967295', 'OID: .1.3.6.1.4.1.8072.3.2.10']) {
      expect(tool).toContain(marker);
    }
  });

  for (const [label, root] of [
    ['system group', '.1.3.6.1.2.1.1'],
    ['IF-MIB ifTable', '.1.3.6.1.2.1.2'],
    ['IF-MIB ifXTable', '.1.3.6.1.2.1.31'],
    ['HOST-RESOURCES hrStorage', '.1.3.6.1.2.1.25.2'],
  ] as const) {
    it(`${label} over v2c, bracketed by tool walks before and after`, async () => {
      const before = await toolWalk(v2c(), root);
      const ours = await egov(['snmp', 'walk', ...v2c(), agent.target, root]);
      const after = await toolWalk(v2c(), root);
      expect(ours.exitCode).toBe(0);
      expect(entries(ours.stdout).length).toBeGreaterThan(3);
      expectBracketed(ours.stdout, before, after);
    });
  }

  it('IF-MIB over v3 authPriv SHA-256/AES, same as snmpbulkwalk with the same user', async () => {
    const before = await toolWalk(v3(), '.1.3.6.1.2.1.31.1.1.1');
    const ours = await egov(['snmp', 'walk', ...v3(), agent.target, '.1.3.6.1.2.1.31.1.1.1']);
    const after = await toolWalk(v3(), '.1.3.6.1.2.1.31.1.1.1');
    expect(ours.exitCode).toBe(0);
    expectBracketed(ours.stdout, before, after);
  });

  it('a leaf OID prints that one value; a missing subtree prints the noSuchObject line, as snmpbulkwalk does', async () => {
    for (const root of [`${STATIC}.1.10.0`, `${STATIC}.1.10`, '.1.3.6.1.4.1.99998']) {
      const tool = await toolWalk(v2c(), root);
      const ours = await egov(['snmp', 'walk', ...v2c(), agent.target, root]);
      expect(ours.stdout).toBe(tool);
    }
  });

  it('v1 walk (GETNEXT) equals snmpwalk -v1, which skips Counter64', async () => {
    const tool = await agent.tool('snmpwalk', ['-On', '-v1', '-c', agent.community, agent.target, STATIC]);
    const ours = await egov(['snmp', 'walk', '-v', '1', '-c', agent.community, agent.target, STATIC]);
    expect(ours.stdout).toBe(tool.stdout);
    expect(ours.stdout).not.toContain('Counter64');
  });

  it('where the agent\'s view ends inside the subtree: the endOfMibView line (v2c) and "End of MIB" (v1), as the tools print', async () => {
    const viewed = ['-c', 'viewed'];
    const bulk = await agent.tool('snmpbulkwalk', ['-On', '-v2c', ...viewed, agent.target, '.1.3.6.1.4.1']);
    expect(bulk.stdout).toMatch(/= No more variables left in this MIB View \(It is past the end of the MIB tree\)\n$/);
    expect((await egov(['snmp', 'walk', '-v', '2c', ...viewed, agent.target, '.1.3.6.1.4.1'])).stdout).toBe(bulk.stdout);
    const v1 = await agent.tool('snmpwalk', ['-On', '-v1', ...viewed, agent.target, '.1.3.6.1.4.1']);
    expect(v1.stdout).toMatch(/\nEnd of MIB\n$/);
    expect((await egov(['snmp', 'walk', '-v', '1', ...viewed, agent.target, '.1.3.6.1.4.1'])).stdout).toBe(v1.stdout);
    // Outside the view altogether: nothing under the root, and the GET of the root says noSuchObject.
    const none = await agent.tool('snmpbulkwalk', ['-On', '-v2c', ...viewed, agent.target, '.1.3.6.1.2.1']);
    expect((await egov(['snmp', 'walk', '-v', '2c', ...viewed, agent.target, '.1.3.6.1.2.1'])).stdout).toBe(none.stdout);
  });

  it('column walks reach the end of the agent\'s view cleanly over v1 (noSuchName) and v2c (endOfMibView)', async () => {
    for (const version of ['1', '2c'] as const) {
      const session = SnmpSession.open(parseEndpoint(agent.target), { version, community: 'viewed' }, { timing: { timeoutMs: 1000, retries: 0 } });
      try {
        const cells = await session.walkColumns(['1.3.6.1.4.1.99999.1', '1.3.6.1.4.1.99999.2'], 3);
        expect(cells.get('1.3.6.1.4.1.99999.1')!.length).toBe(19);
        // v1 cannot carry the Counter64 values: only the IpAddress and Opaque remain.
        expect(cells.get('1.3.6.1.4.1.99999.2')!.map((v) => v.value.type)).toEqual(version === '1' ? ['IpAddress', 'Opaque'] : ['Counter64', 'Counter64', 'Counter64', 'IpAddress', 'Opaque']);
      } finally {
        session.close();
      }
    }
  });

  it('-Cr N sets max-repetitions without changing the output', async () => {
    const tool = await toolWalk(v2c(), STATIC);
    expect((await egov(['snmp', 'walk', ...v2c(), '-Cr1', agent.target, STATIC])).stdout).toBe(tool);
    expect((await egov(['snmp', 'walk', ...v2c(), '-Cr3', '-On', agent.target, STATIC])).stdout).toBe(tool);
    // net-snmp tools' attached forms: -v2c, -cCOMMUNITY.
    expect((await egov(['snmp', 'walk', '-v2c', `-c${agent.community}`, agent.target, STATIC])).stdout).toBe(tool);
  });
});

describe('snmp get', () => {
  it('prints the same lines as snmpget -On, exceptions included', async () => {
    const oids = [`${STATIC}.1.1`, `${STATIC}.2.1`, `${STATIC}.1.14`, '.1.3.6.1.2.1.1.2.0', '.1.3.6.1.4.1.99998.0'];
    const tool = await agent.tool('snmpget', ['-On', ...v2c(), agent.target, ...oids]);
    const ours = await egov(['snmp', 'get', ...v2c(), agent.target, ...oids]);
    expect(ours.exitCode).toBe(0);
    expect(ours.stdout).toBe(tool.stdout);
  });

  it('--json: Counter64 as an exact decimal string, strings as text and hex', async () => {
    const ours = await egov(['snmp', 'get', ...v2c(), '--json', agent.target, `${STATIC}.2.1`, `${STATIC}.1.9`, 'sysUpTime.0', '.1.3.6.1.4.1.99998.0']);
    const result = JSON.parse(ours.stdout);
    expect(result.target).toBe(agent.target);
    expect(result.varbinds[0]).toEqual({ oid: '1.3.6.1.4.1.99999.2.1', type: 'Counter64', value: '18446744073709551615' });
    expect(result.varbinds[1]).toEqual({ oid: '1.3.6.1.4.1.99999.1.9', type: 'OctetString', value: '政务外网', hex: 'e694bfe58aa1e5a496e7bd91' });
    expect(result.varbinds[2]).toMatchObject({ oid: '1.3.6.1.2.1.1.3.0', type: 'TimeTicks' });
    expect(result.varbinds[3]).toEqual({ oid: '1.3.6.1.4.1.99998.0', type: 'NoSuchObject' });
  });

  it('v3 passphrases and the community may come from the environment, and are never printed', async () => {
    const env = { EGOV_OPS_SNMP_AUTH_PASS: agent.authPriv.authPassword, EGOV_OPS_SNMP_PRIV_PASS: agent.authPriv.privPassword };
    const ours = await egov(['snmp', 'get', '--json', '-u', agent.authPriv.user, '-a', 'SHA-256', '-x', 'AES', agent.target, 'sysName.0'], env);
    expect(ours.exitCode).toBe(0);
    expect(JSON.parse(ours.stdout).version).toBe('3');
    const v2 = await egov(['snmp', 'get', agent.target, 'sysName.0'], { EGOV_OPS_SNMP_COMMUNITY: agent.community });
    expect(v2.stdout).toMatch(/^\.1\.3\.6\.1\.2\.1\.1\.5\.0 = STRING: "/);
    for (const run of [ours, v2]) {
      expect(run.stdout).not.toContain(agent.authPriv.authPassword);
      expect(run.stdout).not.toContain(agent.authPriv.privPassword);
      expect(run.stdout).not.toContain(agent.community);
    }
  });
});

describe('snmp exit codes', () => {
  it('wrong v3 password: exit 5 with a clear message that does not contain the password', async () => {
    const run = await egov(['snmp', 'get', '-v', '3', '-l', 'authPriv', '-u', agent.authPriv.user, '-a', 'SHA-256', '-A', 'wrong-password-1', '-x', 'AES', '-X', agent.authPriv.privPassword, agent.target, 'sysName.0']);
    expect(run.exitCode).toBe(5);
    expect(run.error).toBe(`authentication failed for v3 user ${agent.authPriv.user}: wrong password or auth protocol`);
  });

  it('no answer: exit 7 naming the target, tries and timeout', async () => {
    const run = await egov(['snmp', 'get', ...v2c(), '-t', '0.2', '-r', '1', '127.0.0.1:9', 'sysName.0']);
    expect(run.exitCode).toBe(7);
    expect(run.error).toBe('no answer from 127.0.0.1:9 after 2 tries (timeout 200 ms) (a wrong community gets no answer either)');
  });

  it('usage mistakes: exit 2 with the reason', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['snmp', 'get', '-v', '2c', agent.target, 'sysName.0'], /needs a community/],
      [['snmp', 'get', '-v', '4', '-c', 'x', agent.target, 'sysName.0'], /version is 1, 2c or 3/],
      [['snmp', 'get', '-c', 'x', agent.target, '1.3.six'], /is not an OID/],
      [['snmp', 'get', '-c', 'x', 'tcp:host:161', '1.3.6'], /not supported/],
      [['snmp', 'get', '-u', 'u', '-l', 'authPriv', '-a', 'SHA', '-A', 'longenough', agent.target, '1.3.6'], /privacy protocol/],
      [['snmp', 'get', '-u', 'u', '-a', 'SHA', '-A', 'short', agent.target, '1.3.6'], /at least 8 characters/],
      [['snmp', 'get', '-u', 'u', '-a', 'SHA-999', '-A', 'longenough', agent.target, '1.3.6'], /auth protocol "SHA-999"/],
      [['snmp', 'get', '-c', 'x', '-t', 'soon', agent.target, '1.3.6'], /timeout is a number of seconds/],
      [['snmp', 'get', '-c', 'x', agent.target], /missing required argument/],
      [['snmp', 'walk', '-c', 'x', '--bogus', agent.target], /unknown option/],
    ];
    for (const [args, reason] of cases) {
      const run = await egov(args);
      expect(run.exitCode, args.join(' ')).toBe(2);
      expect(run.error, args.join(' ')).toMatch(reason);
    }
  });
});
