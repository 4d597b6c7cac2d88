// The knowledge base on both real engines: articles with every revision,
// matching alerts by structured keys with reasons, incidents and "seen
// before", drafts from incidents, review and publication by someone other
// than the author, search with the short-query path, and bad input.

import { Migrator, sql, type Migration } from 'kysely';
import { describe, expect, it } from 'vitest';
import { EgovError, listAudit, migrateToLatest, migrations, openDatabase, verifyAuditLog } from '../core/index.js';
import { KnowledgeBase, type ArticleInput } from '../monitor/kb/index.js';
import { useEngines } from './support/engines.js';

const { engines, keep } = useEngines('kb');

async function expectError(work: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EgovError);
  expect((error as EgovError).code).toBe(code);
  expect((error as EgovError).message).toMatch(message);
}

const lowOptical: ArticleInput = {
  id: 'low-optical-power',
  title: { en: 'Low optical receive power on an uplink', zh: '上联光模块收光功率低（光衰）' },
  symptoms: { en: 'Interface errors climb, then the link flaps.', zh: '端口错包持续增长，随后链路抖动。' },
  cause: { en: 'Dirty connector or a bent fibre.', zh: '光纤接头脏污或尾纤弯折。' },
  steps: { en: ['Read the DDM receive power.', 'Clean the connector.'], zh: ['查看 DDM 收光功率。', '清洁光纤接头。'] },
  appliesTo: { rules: ['interface-errors', 'syslog-pattern'], kinds: ['switch', 'router'], sysObjectIds: ['1.3.6.1.4.1.2011'], logPatterns: ['RX power.*(low|below)', '光功率.*低'] },
  tags: ['optical', '光衰'],
  runbook: 'optical-check',
  state: 'published',
};

const nodeDown: ArticleInput = {
  id: 'node-down-power',
  title: { en: 'A village node is down: power or uplink', zh: '村级节点离线：供电或上联' },
  symptoms: { en: 'The node stops answering ping and SNMP.', zh: '节点 ping 和 SNMP 均无响应。' },
  appliesTo: { rules: ['node-down', 'node-unreachable'] },
  tags: ['power'],
  state: 'published',
};

const firewallOnly: ArticleInput = {
  id: 'firewall-session-table',
  title: { en: 'Firewall session table full', zh: '防火墙会话表满' },
  symptoms: { en: 'New connections from one IP fail; CPU high.', zh: '新建连接失败，CPU 升高。' },
  appliesTo: { rules: ['cpu-high', 'syslog-pattern'], kinds: ['firewall'], logPatterns: ['session (table )?full'] },
  tags: ['firewall'],
  state: 'published',
};

describe.each(engines)('knowledge base on $name', (engine) => {
  const open = async () => {
    const database = keep(await openDatabase(await engine.location()));
    return { database, kb: new KnowledgeBase(database) };
  };

  it("migration 0022: rule keys the previous release stored under names the engine never raises now match the engine's alerts", async () => {
    const database = keep(await openDatabase({ ...(await engine.location()), migrate: false }));
    const provider = { getMigrations: async (): Promise<Record<string, Migration>> => Object.fromEntries(Object.entries(migrations).map(([name, make]) => [name, make(database.dialect)])) };
    expect((await new Migrator({ db: database.db, provider }).migrateTo('0021-rate-limits')).error).toBeUndefined();
    const kb = new KnowledgeBase(database);
    await kb.importArticles(
      [
        { id: 'old-trap', title: { en: 'linkDown' }, appliesTo: { rules: ['trap-link-down'] }, state: 'published' },
        { id: 'old-both', title: { en: 'Down or full' }, appliesTo: { rules: ['node-down', 'storage-full'] }, state: 'published' },
      ],
      { by: 'alice' },
    );
    // As the previous release stored them: its own names, one article naming both node-down and node-unreachable.
    await sql`update kb_applies set value = 'trap-linkdown' where key_kind = 'rule' and value = 'trap-link-down'`.execute(database.db);
    await sql`update kb_applies set value = 'storage-high' where key_kind = 'rule' and value = 'storage-full'`.execute(database.db);
    await sql`insert into kb_applies (article_id, key_kind, value, position) values ('old-both', 'rule', 'node-unreachable', 2)`.execute(database.db);
    expect(await kb.matchAlert({ rule: 'trap-link-down' })).toEqual([]);
    expect(await migrateToLatest(database)).toEqual(['0022-kb-rule-names']);
    expect((await kb.matchAlert({ rule: 'trap-link-down' })).map((m) => m.id)).toEqual(['old-trap']);
    expect((await kb.matchAlert({ rule: 'storage-full' })).map((m) => m.id)).toEqual(['old-both']);
    const keys = await database.db.selectFrom('kb_applies').select(['article_id', 'value']).where('key_kind', '=', 'rule').orderBy('article_id').orderBy('value').execute();
    expect(keys).toEqual([{ article_id: 'old-both', value: 'node-down' }, { article_id: 'old-both', value: 'storage-full' }, { article_id: 'old-trap', value: 'trap-link-down' }]);
  });

  it('saves articles, keeps every revision with who and what changed, and audits each change', async () => {
    const { database, kb } = await open();
    const created = await kb.saveArticle({ ...nodeDown, state: 'draft' }, { by: 'alice', source: 'cli' });
    expect(created).toMatchObject({ id: 'node-down-power', state: 'draft', author: 'alice', revision: 1 });
    const updated = await kb.saveArticle({ ...nodeDown, state: undefined, cause: { en: 'The village UPS ran flat.' } }, { by: 'bob', comment: 'cause added' });
    expect(updated).toMatchObject({ revision: 2, author: 'alice', updatedBy: 'bob', state: 'draft', cause: { en: 'The village UPS ran flat.' } });
    // Saving the same content again writes no revision.
    expect((await kb.saveArticle({ ...nodeDown, state: undefined, cause: { en: 'The village UPS ran flat.' } }, { by: 'bob' })).revision).toBe(2);
    const revisions = await kb.revisions('node-down-power');
    expect(revisions.map((r) => [r.revision, r.by, r.changes])).toEqual([
      [2, 'bob', ['cause']],
      [1, 'alice', ['created']],
    ]);
    expect(revisions[0]!.comment).toBe('cause added');
    expect(revisions[1]!.content.cause).toEqual({});
    const audit = await listAudit(database, {});
    expect(audit.filter((r) => r.action.startsWith('kb.')).map((r) => r.action).sort()).toEqual(['kb.article-create', 'kb.article-update']);
    expect((await verifyAuditLog(database)).ok).toBe(true);
    // Saving cannot publish.
    await expectError(kb.saveArticle({ ...nodeDown, state: 'published' }, { by: 'bob' }), 'policy-violation', /published by a network administrator other than its author/);
  });

  it('publishes only by a network administrator other than the author and the last editor', async () => {
    const { kb } = await open();
    await kb.saveArticle({ ...nodeDown, state: undefined }, { by: 'alice' });
    await kb.submitForReview('node-down-power', { by: 'alice' });
    await expectError(kb.publish('node-down-power', { by: 'alice' }), 'policy-violation', /written by alice/);
    await kb.saveArticle({ ...nodeDown, state: undefined, tags: ['power', 'ups'] }, { by: 'bob' });
    await expectError(kb.publish('node-down-power', { by: 'bob' }), 'policy-violation', /changed by bob: another network administrator/);
    const published = await kb.publish('node-down-power', { by: 'carol', comment: 'checked' });
    expect(published).toMatchObject({ state: 'published', publishedBy: 'carol' });
    await expectError(kb.publish('node-down-power', { by: 'dave' }), 'conflict', /already published/);
    expect((await kb.revisions('node-down-power')).map((r) => r.state)).toEqual(['published', 'review', 'review', 'draft']);
    await expectError(kb.publish('no-such-article', { by: 'carol' }), 'not-found', /no-such-article/);
  });

  it('matches an alert by rule, trap, device kind, vendor prefix and log pattern, ranked, with reasons; drafts are never matched', async () => {
    const { kb } = await open();
    await kb.importArticles([lowOptical, nodeDown, firewallOnly, { ...nodeDown, id: 'node-down-draft', state: 'draft' }], { by: 'alice' });
    const down = await kb.matchAlert({ rule: 'node-down', node: 'village-7', kind: 'switch' });
    expect(down.map((m) => m.id)).toEqual(['node-down-power']);
    expect(down[0]).toMatchObject({ title: 'A village node is down: power or uplink', titleZh: '村级节点离线：供电或上联', reasons: ['rule node-down'] });

    const optical = await kb.matchAlert({ rule: 'syslog-pattern', kind: 'switch', sysObjectId: '.1.3.6.1.4.1.2011.2.23.95', logMessage: 'Port GE0/0/1 RX power is low (-27.5 dBm)' });
    expect(optical.map((m) => m.id)).toEqual(['low-optical-power']);
    expect(optical[0]!.reasons).toEqual(['rule syslog-pattern', 'device kind switch', 'vendor sysObjectID 1.3.6.1.4.1.2011.*', 'log message matches /RX power.*(low|below)/']);
    // A message no pattern matches, a kind or a vendor the article does not list: not matched.
    expect(await kb.matchAlert({ rule: 'syslog-pattern', kind: 'switch', logMessage: 'user admin logged in' })).toEqual([]);
    expect(await kb.matchAlert({ rule: 'interface-errors', kind: 'server' })).toEqual([]);
    expect(await kb.matchAlert({ rule: 'interface-errors', sysObjectId: '1.3.6.1.4.1.9.1.1' })).toEqual([]);
    // Without kind or vendor the rule alone matches; kind and vendor raise the score.
    const bare = await kb.matchAlert({ rule: 'interface-errors' });
    const rich = await kb.matchAlert({ rule: 'interface-errors', kind: 'router', sysObjectId: '1.3.6.1.4.1.2011.1' });
    expect(bare.map((m) => m.id)).toEqual(['low-optical-power']);
    expect(rich[0]!.score).toBeGreaterThan(bare[0]!.score);
    // A firewall deny flood: the firewall article, by kind and pattern.
    const session = await kb.matchAlert({ rule: 'syslog-pattern', kind: 'firewall', logMessage: 'SESSION TABLE FULL, dropping' });
    expect(session.map((m) => m.id)).toEqual(['firewall-session-table']);
    // Trap OIDs match on their own.
    await kb.importArticles([{ id: 'link-down-trap', title: { en: 'linkDown trap' }, appliesTo: { trapOids: ['1.3.6.1.6.3.1.1.5.3'] }, state: 'published' }], { by: 'alice' });
    const trap = await kb.matchAlert({ rule: 'trap-linkdown', trapOid: '.1.3.6.1.6.3.1.1.5.3' });
    expect(trap.map((m) => [m.id, m.reasons])).toEqual([['link-down-trap', ['trap OID 1.3.6.1.6.3.1.1.5.3']]]);
    await expectError(kb.matchAlert({ rule: '' }), 'bad-request', /rule is missing/);
  });

  it('records incidents and answers "seen before": the same node first, then the same site; a draft from an incident', async () => {
    const { kb, database } = await open();
    const base = { rule: 'node-down', by: 'alice' };
    await kb.recordIncident({ ...base, alertId: 'a1', node: 'v7', site: 'Town A', startedAt: '2026-11-01T08:00:00Z', resolvedAt: '2026-11-01T08:30:00Z', note: 'reset the ONU' });
    await kb.recordIncident({ ...base, alertId: 'a2', node: 'v7', site: 'Town A', startedAt: '2026-11-20T08:00:00Z', resolvedAt: '2026-11-20T09:00:00Z', note: 'UPS replaced', by: 'bob' });
    await kb.recordIncident({ ...base, alertId: 'a3', node: 'v8', site: 'Town A', startedAt: '2026-11-25T08:00:00Z', resolvedAt: '2026-11-25T08:05:00Z' });
    await kb.recordIncident({ ...base, alertId: 'a4', node: 'v9', site: 'Town B', startedAt: '2026-11-26T08:00:00Z', resolvedAt: '2026-11-26T08:05:00Z' });
    await kb.recordIncident({ ...base, rule: 'cpu-high', alertId: 'a5', node: 'v7', site: 'Town A', startedAt: '2026-11-26T08:00:00Z', resolvedAt: '2026-11-26T08:05:00Z' });
    // Recorded twice: kept once.
    await kb.recordIncident({ ...base, alertId: 'a1', node: 'v7', site: 'Town A', startedAt: '2026-11-01T08:00:00Z', resolvedAt: '2026-11-01T08:30:00Z' });
    const seen = await kb.seenBefore({ rule: 'node-down', node: 'v7', site: 'Town A' });
    expect(seen.count).toBe(3);
    expect(seen.incidents.map((i) => [i.alertId, i.node, i.durationMs, i.note, i.by])).toEqual([
      ['a2', 'v7', 3_600_000, 'UPS replaced', 'bob'],
      ['a1', 'v7', 1_800_000, 'reset the ONU', 'alice'],
      ['a3', 'v8', 300_000, undefined, 'alice'],
    ]);
    expect((await kb.seenBefore({ rule: 'node-down', node: 'v7', site: 'Town A' }, 1)).incidents.map((i) => i.alertId)).toEqual(['a2']);
    expect((await kb.seenBefore({ rule: 'node-down', site: 'Town B' })).count).toBe(1);
    expect(await kb.seenBefore({ rule: 'memory-high', node: 'v7' })).toEqual({ count: 0, incidents: [] });
    await expectError(kb.recordIncident({ ...base, alertId: 'bad', startedAt: '2026-11-02T00:00:00Z', resolvedAt: '2026-11-01T00:00:00Z' }), 'bad-request', /before startedAt/);
    await expectError(kb.recordIncident({ ...base, alertId: 'bad', startedAt: 'yesterday', resolvedAt: '2026-11-01T00:00:00Z' }), 'bad-request', /startedAt must be an ISO 8601 time/);

    const draft = await kb.draftFromIncident('a2', 'bob');
    expect(draft).toMatchObject({ state: 'draft', author: 'bob', appliesTo: { rules: ['node-down'] }, steps: { en: ['UPS replaced'] } });
    expect(draft.title.en).toContain('v7');
    await expectError(kb.draftFromIncident('a2', 'bob'), 'conflict', /already has a draft/);
    await expectError(kb.draftFromIncident('nope', 'bob'), 'not-found', /no incident/);
    await kb.submitForReview(draft.id, { by: 'bob' });
    await expectError(kb.publish(draft.id, { by: 'bob' }), 'policy-violation', /another network administrator/);
    expect((await kb.publish(draft.id, { by: 'alice' })).state).toBe('published');
    expect((await listAudit(database, {})).filter((r) => r.action === 'kb.incident-record')).toHaveLength(5);
  });

  it('searches Chinese and English, long terms through the trigram index and 1-2 character terms through their own path', async () => {
    const { kb } = await open();
    await kb.importArticles([lowOptical, nodeDown, firewallOnly], { by: 'alice' });
    const ids = async (q: string) => (await kb.search(q)).map((h) => h.id).sort();
    expect(await ids('光衰')).toEqual(['low-optical-power']);
    expect(await ids('端口')).toEqual(['low-optical-power']);
    expect(await ids('收光功率')).toEqual(['low-optical-power']);
    expect(await ids('会话表')).toEqual(['firewall-session-table']);
    expect(await ids('防火墙')).toEqual(['firewall-session-table']);
    expect(await ids('光')).toEqual(['low-optical-power']);
    expect(await ids('SESSION table')).toEqual(['firewall-session-table']);
    expect(await ids('uplink')).toEqual(['low-optical-power', 'node-down-power']);
    expect(await ids('uplink 光衰')).toEqual(['low-optical-power']);
    // In the steps only (the long path reads the whole article).
    expect(await ids('DDM')).toEqual(['low-optical-power']);
    expect(await ids('connector')).toEqual(['low-optical-power']);
    expect(await ids('ping')).toEqual(['node-down-power']);
    // Short words are whole words: "ip" is a word here, "pi" only part of "ping".
    expect(await ids('ip')).toEqual(['firewall-session-table']);
    expect(await ids('pi')).toEqual([]);
    expect(await ids('不存在的词')).toEqual([]);
    expect(await ids('50%_')).toEqual([]);
    // Title hits rank first.
    expect((await kb.search('firewall'))[0]!.id).toBe('firewall-session-table');
    expect((await kb.search('光衰', { state: 'draft' })).length).toBe(0);
    await expectError(kb.search('x'.repeat(10_240)), 'bad-request', /10240 characters long; at most 200/);
    await expectError(kb.search('   '), 'bad-request', /search query is empty/);
  });

  it('refuses an article without a title, unknown rules, bad regexes and bad ids, and writes nothing of a bad import', async () => {
    const { kb } = await open();
    await expectError(kb.saveArticle({ symptoms: { en: 'x' } }, { by: 'alice' }), 'bad-request', /article title: is missing/);
    await expectError(kb.saveArticle({ title: { en: 'x' }, appliesTo: { rules: ['node-dwon'] } }, { by: 'alice' }), 'bad-request', /unknown rule "node-dwon"/);
    await expectError(kb.saveArticle({ title: { en: 'x' }, appliesTo: { logPatterns: ['(unclosed'] } }, { by: 'alice' }), 'bad-request', /"\(unclosed" is not a valid regular expression/);
    await expectError(kb.saveArticle({ title: { en: 'x' }, appliesTo: { sysObjectIds: ['huawei'] } }, { by: 'alice' }), 'bad-request', /not a dotted OID/);
    await expectError(kb.saveArticle({ id: 'Bad Id', title: { en: 'x' } }, { by: 'alice' }), 'bad-request', /article id/);
    await expectError(kb.saveArticle({ title: { fr: 'x' } as never }, { by: 'alice' }), 'bad-request', /unknown language "fr"/);
    await expectError(kb.importArticles([lowOptical, { id: 'second', symptoms: { en: 'no title' } }], { by: 'alice' }), 'bad-request', /article 2 \(second\): article title: is missing/);
    expect(await kb.count()).toBe(0);
    // A saved article without an id gets one from its title.
    expect((await kb.saveArticle({ title: { en: 'NTP unsynchronised!' } }, { by: 'alice' })).id).toBe('ntp-unsynchronised');
    expect((await kb.saveArticle({ title: { zh: '时钟不同步' } }, { by: 'alice' })).id).toMatch(/^article-/);
  });
});
