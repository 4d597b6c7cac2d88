// The starter knowledge base (monitor/kb/starter) loads through import on
// both engines: at least 30 articles, each in Chinese and English, each
// naming known alert rules; real log lines of the problems they explain
// match them. Export to YAML and to Markdown and import back: the same
// articles; bad files are clear errors.

import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EgovError, openDatabase } from '../core/index.js';
import { KNOWN_RULES, KnowledgeBase, articleToInput, readArticleFiles, starterDirectory, writeArticleFiles, parseMarkdownArticle } from '../monitor/kb/index.js';
import { builtInRuleSet } from '../monitor/alerts/index.js';
import { useEngines } from './support/engines.js';

const { engines, keep } = useEngines('kbstarter');
const temp: string[] = [];
afterAll(() => temp.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-kb-files-'));
  temp.push(dir);
  return dir;
};

const starter = () => readArticleFiles(starterDirectory()).flatMap((f) => f.articles);

// A log line or trap of each kind of problem, and the article it must bring up first.
const SAMPLES: Array<[Parameters<KnowledgeBase['matchAlert']>[0], string]> = [
  [{ rule: 'syslog-pattern', kind: 'router', logMessage: '%BGP-5-ADJCHANGE: neighbor 10.1.0.1 Down BGP Notification sent' }, 'bgp-neighbour-down'],
  [{ rule: 'syslog-pattern', kind: 'router', logMessage: '%OSPF-5-ADJCHG: Process 1, Nbr 10.2.0.2 on Gi0/1 from FULL to DOWN, Neighbor Down: Dead timer expired' }, 'ospf-neighbour-down'],
  [{ rule: 'syslog-pattern', kind: 'switch', logMessage: 'The RX power of port GigabitEthernet0/0/24 is too low (-28.1 dBm)' }, 'low-optical-power'],
  [{ rule: 'syslog-pattern', kind: 'firewall', logMessage: 'The session table is full, new session rejected' }, 'firewall-session-table-full'],
  [{ rule: 'syslog-pattern', kind: 'switch', logMessage: '%SW_MATM-4-MACFLAP_NOTIF: Host 0011.2233.4455 in vlan 10 is flapping between port Gi1/0/1 and port Gi1/0/2' }, 'broadcast-storm-stp-loop'],
  [{ rule: 'syslog-pattern', kind: 'router', logMessage: 'NTP: clock is unsynchronized, no server suitable for synchronization found' }, 'ntp-unsynchronised'],
  [{ rule: 'syslog-pattern', kind: 'gateway', logMessage: 'IKE phase 1 negotiation failed: peer certificate has expired' }, 'gateway-certificate-expired'],
  [{ rule: 'syslog-pattern', kind: 'server', logMessage: 'rsyslogd: file /var/log/remote/a.log: write error: No space left on device' }, 'log-server-disk-full'],
  [{ rule: 'syslog-pattern', kind: 'other', logMessage: 'UPS: On battery power in response to an input power problem; UPS on battery' }, 'ups-on-battery'],
  // As the alert engine raises them: its syslog rules by name, with the line.
  [{ rule: 'routing-neighbour-down', kind: 'router', logMessage: '%BGP-5-ADJCHANGE: neighbor 10.1.0.1 Down BGP Notification sent' }, 'bgp-neighbour-down'],
  [{ rule: 'routing-neighbour-down', kind: 'router', logMessage: '%OSPF-5-ADJCHG: Process 1, Nbr 10.2.0.2 on Gi0/1 from FULL to DOWN, Neighbor Down: Dead timer expired' }, 'ospf-neighbour-down'],
  [{ rule: 'firewall-deny-flood', kind: 'firewall', logMessage: '%ASA-4-106023: Deny tcp src outside:203.0.113.9/445 dst inside:10.1.1.5/445 by access-group "outside_in"' }, 'firewall-deny-flood'],
  [{ rule: 'storage-full', kind: 'switch' }, 'device-flash-full'],
  [{ rule: 'trap-auth-failure', kind: 'switch', trapOid: '1.3.6.1.6.3.1.1.5.5' }, 'snmp-authentication-failure'],
  [{ rule: 'trap-cold-start', trapOid: '1.3.6.1.6.3.1.1.5.1' }, 'device-rebooted-unexpectedly'],
  [{ rule: 'audit-score-dropped' }, 'audit-score-dropped'],
  [{ rule: 'audit-high-risk' }, 'audit-score-dropped'],
  [{ rule: 'syslog-pattern', kind: 'switch', sysObjectId: '1.3.6.1.4.1.25506.1.1', logMessage: 'IRF link 1 down, IRF split detected' }, 'h3c-irf-split'],
  [{ rule: 'audit-chain-broken' }, 'audit-chain-broken'],
];

describe('the starter files', () => {
  it('hold at least 30 articles, each in both languages, each naming known rules', () => {
    const articles = starter();
    expect(articles.length).toBeGreaterThanOrEqual(30);
    const ids = new Set<string>();
    for (const article of articles) {
      ids.add(article.id!);
      expect(article.title?.en, article.id).toBeTruthy();
      expect(article.title?.zh, article.id).toMatch(/[\u4e00-\u9fff]/);
      expect(article.symptoms?.en && article.symptoms?.zh, article.id).toBeTruthy();
      expect(article.cause?.en && article.cause?.zh, article.id).toBeTruthy();
      expect(article.steps?.en?.length, article.id).toBeGreaterThan(0);
      expect(article.steps?.zh?.length, article.id).toBe(article.steps?.en?.length);
      expect(article.appliesTo?.rules?.length, article.id).toBeGreaterThan(0);
      for (const rule of article.appliesTo!.rules!) expect(KNOWN_RULES as readonly string[]).toContain(rule);
      expect(article.state).toBe('published');
    }
    expect(ids.size).toBe(articles.length);
    // The vocabulary is the alert engine's: its built-in rules, and syslog-pattern for any syslog rule.
    expect([...KNOWN_RULES].sort()).toEqual([...builtInRuleSet().rules.map((r) => r.name), 'syslog-pattern'].sort());
    // Every alert rule the alerts engine raises has at least one article.
    const covered = new Set(articles.flatMap((a) => a.appliesTo!.rules!));
    expect(KNOWN_RULES.filter((rule) => !covered.has(rule))).toEqual([]);
    // Both file formats are used.
    expect(readdirSync(starterDirectory()).some((f) => f.endsWith('.md') && f !== 'README.md')).toBe(true);
  });
});

describe.each(engines)('the starter knowledge base on $name', (engine) => {
  const open = async () => {
    const database = keep(await openDatabase(await engine.location()));
    return new KnowledgeBase(database);
  };

  it('imports, matches real log lines and traps to the right article, and searches in both languages', async () => {
    const kb = await open();
    const result = await kb.importArticles(starter(), { by: 'cli:netadmin', source: 'cli' });
    expect(result.created.length).toBeGreaterThanOrEqual(30);
    // Loading the same files again changes nothing.
    expect((await kb.importArticles(starter(), { by: 'cli:netadmin' })).unchanged.length).toBe(result.created.length);
    for (const [key, expected] of SAMPLES) {
      const matched = await kb.matchAlert(key);
      expect(matched[0]?.id, JSON.stringify(key)).toBe(expected);
      expect(matched[0]!.reasons.length).toBeGreaterThan(0);
    }
    // node-down brings up the village power article and the one for children behind a down parent;
    // node-unreachable, a name articles used before, is read as node-down.
    const down = await kb.matchAlert({ rule: 'node-down' });
    expect(down.map((m) => m.id)).toEqual(expect.arrayContaining(['village-node-down-power', 'node-unreachable-parent-down']));
    expect(await kb.matchAlert({ rule: 'node-unreachable' })).toEqual(down);
    // backup-failed (a run, a drill or a missed RPO) brings up the three backup articles.
    expect((await kb.matchAlert({ rule: 'backup-failed' })).map((m) => m.id)).toEqual(expect.arrayContaining(['backup-failed-repository', 'restore-drill-failed', 'rpo-missed']));
    // A deny flood whose lines say the session table is full: the rule's own article first, the pattern's after it.
    const flood = await kb.matchAlert({ rule: 'firewall-deny-flood', kind: 'firewall', logMessage: 'The session table is full, new session rejected; packet dropped' });
    expect(flood.map((m) => m.id).slice(0, 2)).toEqual(['firewall-deny-flood', 'firewall-session-table-full']);
    expect(flood[1]!.reasons).toContain('device kind firewall');
    // An article for any syslog rule whose patterns do not match the line is not shown.
    expect(flood.map((m) => m.id)).not.toContain('bgp-neighbour-down');
    expect((await kb.search('光衰')).map((h) => h.id)).toContain('low-optical-power');
    expect((await kb.search('端口')).length).toBeGreaterThan(0);
    expect((await kb.search('环路')).map((h) => h.id)).toContain('broadcast-storm-stp-loop');
    expect((await kb.search('session table')).map((h) => h.id)).toContain('firewall-session-table-full');
    expect((await kb.search('UPS'))[0]!.id).toBe('ups-on-battery');
  });

  it('exports to YAML and Markdown, and the exports import back to the same articles', async () => {
    const kb = await open();
    await kb.importArticles(starter(), { by: 'alice' });
    const all = await kb.all();
    for (const format of ['yaml', 'md'] as const) {
      const dir = tempDir();
      expect(writeArticleFiles(all, dir, format)).toHaveLength(all.length);
      const again = await open();
      await again.importArticles(
        readArticleFiles(dir).flatMap((f) => f.articles),
        { by: 'bob' },
      );
      const back = await again.all();
      expect(back.map(articleToInput)).toEqual(all.map(articleToInput));
    }
  });
});

describe('bad article files', () => {
  const expectError = (work: () => unknown, message: RegExp) => {
    let error: unknown;
    try {
      work();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EgovError);
    expect((error as EgovError).message).toMatch(message);
  };
  it('names the file and what is wrong', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'broken.yaml'), 'id: x\ntitle: [unclosed\n');
    expectError(() => readArticleFiles(path.join(dir, 'broken.yaml')), /broken\.yaml: not valid YAML/);
    expectError(() => readArticleFiles(path.join(dir, 'missing.yaml')), /no such file or directory/);
    expectError(() => parseMarkdownArticle('no front matter', 'a.md'), /a\.md: a Markdown article starts with YAML front matter/);
    expectError(() => parseMarkdownArticle('---\nid: a\ntitle: A\n---\n## Remedy\ntext\n', 'a.md'), /unknown heading "## Remedy"/);
    expectError(() => parseMarkdownArticle('---\nid: a\ntitle: A\n---\n## Resolution\njust prose\n', 'a.md'), /write a numbered list/);
    const empty = tempDir();
    expectError(() => readArticleFiles(empty), /holds no \.yaml, \.yml or \.md article files/);
  });
});
