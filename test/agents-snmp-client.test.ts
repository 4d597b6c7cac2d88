// The SNMP client against a real snmpd: get, getnext and walks over v1,
// v2c, v3 authNoPriv (SHA-512) and authPriv (SHA-256/AES); typed values;
// and the errors a person sees when the password or the community is wrong.

import { createCipheriv } from 'node:crypto';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgovError } from '../core/index.js';
import { parseEndpoint, SnmpSession, type Credentials, type Varbind } from '../agents/snmp/index.js';
import { startSnmpd, type Snmpd } from './support/snmpd.js';

let agent: Snmpd;
const sessions: SnmpSession[] = [];

beforeAll(async () => {
  agent = await startSnmpd();
});
afterAll(async () => {
  for (const s of sessions) s.close();
  await agent?.dispose();
});

function open(credentials: Credentials, timing = { timeoutMs: 1000, retries: 1 }): SnmpSession {
  const session = SnmpSession.open(parseEndpoint(agent.target), credentials, { timing });
  sessions.push(session);
  return session;
}

const credentialSets = (): Array<[string, Credentials]> => [
  ['v1', { version: '1', community: agent.community }],
  ['v2c', { version: '2c', community: agent.community }],
  ['v3 authNoPriv SHA-512', { version: '3', user: agent.authNoPriv.user, level: 'authNoPriv', authProtocol: 'SHA-512', authPassword: agent.authNoPriv.authPassword }],
  [
    'v3 authPriv SHA-256/AES',
    { version: '3', user: agent.authPriv.user, level: 'authPriv', authProtocol: 'SHA-256', authPassword: agent.authPriv.authPassword, privProtocol: 'AES', privPassword: agent.authPriv.privPassword },
  ],
];

async function toolValue(oid: string): Promise<string> {
  const r = await agent.tool('snmpget', ['-v2c', '-c', agent.community, '-On', '-Oqv', agent.target, oid]);
  expect(r.code).toBe(0);
  return r.stdout.trim().replace(/^"|"$/g, '');
}

describe('SNMP get and walk over every version', () => {
  for (const label of ['v1', 'v2c', 'v3 authNoPriv SHA-512', 'v3 authPriv SHA-256/AES']) {
    it(`${label}: get of system scalars returns typed values equal to snmpget's`, async () => {
      const credentials = credentialSets().find(([l]) => l === label)![1];
      const session = open(credentials);
      const [descr, objectId, upTime, name] = await session.get(['1.3.6.1.2.1.1.1.0', '1.3.6.1.2.1.1.2.0', '1.3.6.1.2.1.1.3.0', '1.3.6.1.2.1.1.5.0']);
      expect(descr!.value.type).toBe('OctetString');
      expect(descr!.value.type === 'OctetString' && descr!.value.value.toString()).toBe(await toolValue('.1.3.6.1.2.1.1.1.0'));
      expect(objectId!.value).toEqual({ type: 'OID', value: '1.3.6.1.4.1.8072.3.2.10' });
      expect(upTime!.value.type).toBe('TimeTicks');
      expect(name!.value.type === 'OctetString' && name!.value.value.toString()).toBe(hostname());
    });

    it(`${label}: walk of the system group matches the agent, in order, and stops at its end`, async () => {
      const credentials = credentialSets().find(([l]) => l === label)![1];
      const rows = await open(credentials).walkAll('1.3.6.1.2.1.1');
      const oids = rows.map((r) => r.oid);
      expect(oids).toContain('1.3.6.1.2.1.1.5.0');
      expect(oids.every((o) => o.startsWith('1.3.6.1.2.1.1.'))).toBe(true);
      const tool = await agent.tool('snmpwalk', ['-v2c', '-c', agent.community, '-On', agent.target, '.1.3.6.1.2.1.1']);
      const toolOids = tool.stdout.split('\n').filter((l) => l.startsWith('.')).map((l) => l.slice(1, l.indexOf(' ')));
      expect(oids).toEqual(toolOids);
    });
  }

  it('v2c getnext returns the successor and endOfMibView past the end', async () => {
    const session = open({ version: '2c', community: agent.community });
    const [next] = await session.getNext(['1.3.6.1.2.1.1.4']);
    expect(next!.oid).toBe('1.3.6.1.2.1.1.4.0');
    expect(next!.value).toEqual({ type: 'OctetString', value: Buffer.from('noc@example.gov') });
    const [end] = await session.getNext(['1.3.6.1.9']);
    expect(end!.value.type).toBe('EndOfMibView');
  });

  it('v2c get of a missing object is a noSuchObject value; v1 is a not-found error naming the OID', async () => {
    const [missing] = await open({ version: '2c', community: agent.community }).get(['1.3.6.1.4.1.99998.0']);
    expect(missing!.value.type).toBe('NoSuchObject');
    const error = await open({ version: '1', community: agent.community }).get(['1.3.6.1.4.1.99998.0']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EgovError);
    expect((error as EgovError).code).toBe('not-found');
    expect((error as EgovError).message).toContain('.1.3.6.1.4.1.99998.0');
  });

  it('walkColumns reads several ifTable columns side by side, same cells as separate walks', async () => {
    const session = open({ version: '2c', community: agent.community });
    const columns = ['1.3.6.1.2.1.2.2.1.2', '1.3.6.1.2.1.31.1.1.1.6', '1.3.6.1.2.1.2.2.1.8'];
    const together = await session.walkColumns(columns, 2);
    for (const column of columns) {
      const alone = await session.walkAll(column);
      expect(together.get(column)!.map((v) => v.oid)).toEqual(alone.map((v) => v.oid));
      expect(alone.length).toBeGreaterThan(0);
    }
    // Counter64 values are exact bigints.
    const hc = together.get('1.3.6.1.2.1.31.1.1.1.6')![0] as Varbind;
    expect(hc.value.type).toBe('Counter64');
    expect(typeof (hc.value as { value: unknown }).value).toBe('bigint');
  });

  it('v1 walkColumns skips Counter64 columns (v1 cannot carry them) and still reads the others', async () => {
    const cells = await open({ version: '1', community: agent.community }).walkColumns(['1.3.6.1.2.1.31.1.1.1.6', '1.3.6.1.2.1.2.2.1.10']);
    expect(cells.get('1.3.6.1.2.1.31.1.1.1.6')).toEqual([]);
    expect(cells.get('1.3.6.1.2.1.2.2.1.10')!.length).toBeGreaterThan(0);
    expect(cells.get('1.3.6.1.2.1.2.2.1.10')![0]!.value.type).toBe('Counter32');
  });
});

describe('SNMP credential errors', () => {
  it('a wrong v3 auth password is an unauthorized error naming the user', async () => {
    const error = await open({ version: '3', user: agent.authPriv.user, level: 'authPriv', authProtocol: 'SHA-256', authPassword: 'not-the-password', privProtocol: 'AES', privPassword: agent.authPriv.privPassword })
      .get(['1.3.6.1.2.1.1.5.0'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EgovError);
    expect((error as EgovError).code).toBe('unauthorized');
    expect((error as EgovError).exitCode).toBe(5);
    expect((error as EgovError).message).toBe(`authentication failed for v3 user ${agent.authPriv.user}: wrong password or auth protocol`);
  });

  it('a wrong auth protocol reads the same way (the digest does not match)', async () => {
    const error = await open({ version: '3', user: agent.authNoPriv.user, level: 'authNoPriv', authProtocol: 'SHA', authPassword: agent.authNoPriv.authPassword }).get(['1.3.6.1.2.1.1.5.0']).catch((e: unknown) => e);
    expect((error as EgovError).code).toBe('unauthorized');
    expect((error as EgovError).message).toMatch(/wrong password or auth protocol/);
  });

  it('an unknown v3 user is named as such', async () => {
    const error = await open({ version: '3', user: 'nobody', level: 'authNoPriv', authProtocol: 'SHA-256', authPassword: 'whatever123' }).get(['1.3.6.1.2.1.1.5.0']).catch((e: unknown) => e);
    expect((error as EgovError).code).toBe('unauthorized');
    expect((error as EgovError).message).toBe(`authentication failed: ${agent.target} has no v3 user nobody`);
  });

  it('asking below the user\'s required level is refused by the agent (forbidden)', async () => {
    const error = await open({ version: '3', user: agent.authPriv.user, level: 'authNoPriv', authProtocol: 'SHA-256', authPassword: agent.authPriv.authPassword }).get(['1.3.6.1.2.1.1.5.0']).catch((e: unknown) => e);
    expect((error as EgovError).code).toBe('forbidden');
    expect((error as EgovError).message).toMatch(/access denied/);
  });

  it('a wrong community gets no answer: the timeout error names the target, tries and timeout', async () => {
    const error = await open({ version: '2c', community: 'wrong-community' }, { timeoutMs: 300, retries: 1 }).get(['1.3.6.1.2.1.1.5.0']).catch((e: unknown) => e);
    expect((error as EgovError).code).toBe('unavailable');
    expect((error as EgovError).message).toBe(`no answer from ${agent.target} after 2 tries (timeout 300 ms) (a wrong community gets no answer either)`);
  });

  it('DES privacy either works or says why it cannot (OpenSSL 3 legacy provider)', async () => {
    let desAvailable = true;
    try {
      createCipheriv('des-cbc', Buffer.alloc(8), Buffer.alloc(8));
    } catch {
      desAvailable = false;
    }
    const attempt = open({ version: '3', user: agent.authPriv.user, level: 'authPriv', authProtocol: 'SHA-256', authPassword: agent.authPriv.authPassword, privProtocol: 'DES', privPassword: agent.authPriv.privPassword }, { timeoutMs: 300, retries: 0 })
      .get(['1.3.6.1.2.1.1.5.0'])
      .catch((e: unknown) => e);
    const error = (await attempt) as EgovError;
    // The user is AES-only on the agent: with DES available the agent cannot decrypt and stays silent.
    if (desAvailable) expect(error.message).toMatch(/no answer/);
    else expect(error.message).toMatch(/DES privacy is not available: OpenSSL 3 moved DES to its legacy provider/);
  });
});

