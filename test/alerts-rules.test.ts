// Rules as data: the built-in set, a YAML file that overrides and extends
// it, and every bad input named clearly (unknown metric, bad regex, a
// threshold of the wrong type, an escalation cycle, ...).

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_RULES, describeRule, flapPercent, loadRuleSet, parseDuration, parseRuleSetYaml, SEVERITY_NAMES, checkReceiver } from '../monitor/alerts/index.js';

describe('alert rules', () => {
  it('has built-in rules for every kind the issue names, with Chinese severity names', () => {
    const kinds = new Set(BUILT_IN_RULES.map((r) => r.kind));
    for (const k of ['node-down', 'interface-down', 'threshold', 'rebooted', 'agent-silent', 'syslog', 'trap', 'cert-expiry', 'crl-next-update', 'backup-failed', 'audit-chain']) expect(kinds.has(k as never)).toBe(true);
    expect(Object.values(SEVERITY_NAMES).map((n) => n['zh-CN'])).toEqual(['紧急', '重要', '次要', '警告', '提示']);
    expect(describeRule(BUILT_IN_RULES.find((r) => r.name === 'cpu-high')!)).toMatchObject({ metric: 'host.cpuLoadPct', above: 90, clear: 75, severityZh: '重要' });
  });

  it('overrides a built-in rule by name, adds new ones with scope, labels, for and hysteresis, and reads routes and escalations', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-rules-'));
    const file = path.join(dir, 'rules.yaml');
    writeFileSync(
      file,
      [
        'rules:',
        '  - name: cpu-high',
        '    above: 80',
        '    clear: 70',
        '    for: 2m',
        '  - name: link-utilisation',
        '    enabled: false',
        '  - name: county-uplink-errors',
        '    kind: threshold',
        '    severity: major',
        '    metric: interface.inErrorsPerSec',
        '    above: 5',
        '    clear: 1',
        '    labels: { team: county-noc }',
        '    scope: { level: county, kind: [switch, router] }',
        '  - name: ospf-down',
        '    kind: syslog',
        '    pattern: "OSPF.*(Down|down)"',
        '    minSeverity: warning',
        '  - name: any-trap',
        '    kind: trap',
        '    trap: 1.3.6.1.4.1.2011.5.25.1',
        'routes:',
        '  - match: { severity: [critical, major], zone: internal }',
        '    receivers: [noc-dingtalk]',
        '    roster: [{ receiver: duty-a, days: mon-fri, from: "08:00", to: "18:00" }]',
        '    groupWait: 10s',
        'escalations:',
        '  - { from: noc-dingtalk, to: duty-phone, after: 15m }',
      ].join('\n'),
    );
    const set = loadRuleSet(file);
    const cpu = set.rules.find((r) => r.name === 'cpu-high')!;
    expect(cpu).toMatchObject({ above: 80, clear: 70, forMs: 120_000, kind: 'threshold', severity: 'major' });
    expect(set.rules.find((r) => r.name === 'link-utilisation')!.enabled).toBe(false);
    expect(set.rules.find((r) => r.name === 'county-uplink-errors')).toMatchObject({ labels: { team: 'county-noc' }, scope: { level: ['county'], kind: ['switch', 'router'] }, metric: { measurement: 'interface', field: 'inErrorsPerSec' } });
    expect(set.rules.find((r) => r.name === 'ospf-down')!.pattern!.test('%OSPF-5-ADJCHG: neighbor Down')).toBe(true);
    expect(set.rules.find((r) => r.name === 'any-trap')!.trapOid).toBe('1.3.6.1.4.1.2011.5.25.1');
    expect(set.routes[0]).toMatchObject({ receivers: ['noc-dingtalk'], groupWaitMs: 10_000, roster: [{ receiver: 'duty-a', days: [1, 2, 3, 4, 5], from: 480, to: 1080 }] });
    expect(set.escalations).toEqual([{ from: 'noc-dingtalk', to: 'duty-phone', afterMs: 900_000, severity: ['critical'] }]);
    expect(set.rules.length).toBe(BUILT_IN_RULES.length + 3);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['unknown metric', 'rules:\n  - { name: x, kind: threshold, metric: interface.inPacketsPerSec, above: 1 }', /rule x: metric: unknown metric "interface.inPacketsPerSec"/],
    ['unknown measurement', 'rules:\n  - { name: x, kind: threshold, metric: bogus.field, above: 1 }', /unknown metric "bogus.field"/],
    ['bad regex', 'rules:\n  - { name: x, kind: syslog, pattern: "BGP(" }', /rule x: pattern "BGP\(" is not a valid regular expression/],
    ['threshold of the wrong type', 'rules:\n  - { name: x, kind: threshold, metric: host.cpuLoadPct, above: "ninety" }', /rule x: above must be a number \(got "ninety"\)/],
    ['clear on the wrong side', 'rules:\n  - { name: x, kind: threshold, metric: host.cpuLoadPct, above: 90, clear: 95 }', /clear \(95\) must be at or below above \(90\)/],
    ['escalation cycle', 'escalations:\n  - { from: a, to: b }\n  - { from: b, to: c }\n  - { from: c, to: a }', /escalation cycle: a -> b -> c -> a/],
    ['self escalation', 'escalations:\n  - { from: a, to: a }', /escalation cycle: a escalates to itself/],
    ['unknown severity', 'rules:\n  - { name: x, kind: trap, trap: linkDown, severity: disaster }', /severity must be one of critical, major, minor, warning, info/],
    ['unknown kind', 'rules:\n  - { name: x, kind: smoke-detector }', /kind must be one of/],
    ['unknown key', 'rules:\n  - { name: cpu-high, treshold: 3 }', /rule cpu-high: unknown key "treshold"/],
    ['bad duration', 'rules:\n  - { name: cpu-high, for: soon }', /for: "soon" is not a duration/],
    ['bad trap', 'rules:\n  - { name: x, kind: trap, trap: linkSideways }', /neither a known trap name/],
    ['twice', 'rules:\n  - { name: x, kind: trap, trap: linkDown }\n  - { name: x, kind: trap, trap: linkUp }', /rule x is defined twice/],
    ['not YAML', 'rules: [', /is not valid YAML/],
    ['route without receivers', 'routes:\n  - { match: { severity: critical } }', /routes\[0\] names no receivers/],
  ];
  it.each(bad)('refuses a rules file with %s, naming what is wrong', (_what, text, message) => {
    expect(() => parseRuleSetYaml(text, 'rules.yaml')).toThrow(message);
    try {
      parseRuleSetYaml(text, 'rules.yaml');
    } catch (error) {
      expect((error as { code?: string; kind?: string }).code ?? (error as { kind?: string }).kind).toBe('bad-config');
      expect((error as Error).message).toMatch(/^rules.yaml/);
    }
  });

  it('refuses a receiver URL that is not http(s)', () => {
    expect(() => checkReceiver({ name: 'x', type: 'webhook', url: 'ftp://example.org/hook' })).toThrow(/not an http\(s\) URL/);
    expect(() => checkReceiver({ name: 'x', type: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send' })).toThrow(/needs its signing secret/);
  });

  it('parses durations and computes the Nagios flap percentage', () => {
    expect(parseDuration('90s', 'x')).toBe(90_000);
    expect(parseDuration('2h', 'x')).toBe(7_200_000);
    expect(parseDuration(30, 'x')).toBe(30_000);
    expect(flapPercent('1'.repeat(21))).toBe(0);
    // Every one of the 20 transitions changed: weights 0.75..1.25 sum to 20 -> 100 %.
    expect(flapPercent('10'.repeat(10) + '1')).toBeCloseTo(100, 5);
    // Only the newest transition changed: weight 1.25 -> 6.25 %.
    expect(flapPercent('0'.repeat(20) + '1')).toBeCloseTo(6.25, 5);
    // Only the oldest: 0.75 -> 3.75 %.
    expect(flapPercent('0' + '1'.repeat(20))).toBeCloseTo(3.75, 5);
  });
});
