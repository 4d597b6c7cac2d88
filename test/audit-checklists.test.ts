// The checklists as data: counts per category and level against the
// reference table, unique codes with the standard's gaps, collectors that
// exist, and the loader's refusals naming file and code.
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATEGORY_CODES, CHECKLIST_DIR, COLLECTOR_NAMES, loadChecklist, loadHighRisks, loadRemedies, parseChecklist, parseLevel } from '../audit/index.js';
import { RUNBOOKS } from '../playbooks/index.js';
import { readdirSync } from 'node:fs';

// /work/shared/reference/mlps-and-dr.md, "Item counts of the general requirements".
const REFERENCE: Record<string, [number, number]> = {
  PES: [22, 15], CNS: [8, 4], ABS: [20, 11], CES: [34, 23], SMC: [12, 4],
  PSS: [7, 6], ORS: [14, 9], HRS: [12, 7], CMS: [34, 25], MMS: [48, 31],
};

describe('checklists', () => {
  for (const level of [3, 2] as const) {
    it(`level ${level}: counts per category match the reference, codes unique, collectors exist`, () => {
      const list = loadChecklist(level, COLLECTOR_NAMES);
      expect(list.items.length).toBe(level === 3 ? 211 : 135);
      for (const category of CATEGORY_CODES) expect(list.items.filter((i) => i.category === category).length, category).toBe(REFERENCE[category]![level === 3 ? 0 : 1]);
      expect(new Set(list.items.map((i) => i.code)).size).toBe(list.items.length);
      for (const item of list.items) {
        expect(item.code.startsWith(`L${level}-${item.category}1-`)).toBe(true);
        for (const name of item.collectors) expect(COLLECTOR_NAMES.has(name), `${item.code} ${name}`).toBe(true);
        expect(item.zh).toMatch(/[\u4e00-\u9fff]/);
        expect(item.en).toMatch(/^[A-Z]/);
      }
      expect(list.items.filter((i) => !i.manual).length).toBeGreaterThan(10);
    });
  }

  it('level 3 computing environment follows the reference numbering: no L3-CES1-16, control points at their codes', () => {
    const items = loadChecklist(3, COLLECTOR_NAMES).items.filter((i) => i.category === 'CES');
    const codes = items.map((i) => Number(i.code.slice(-2)));
    expect(codes).not.toContain(16);
    expect(codes[codes.length - 1]).toBe(35);
    const at = (n: number) => items.find((i) => i.code === `L3-CES1-${String(n).padStart(2, '0')}`)!.controlPoint.zh;
    expect([at(1), at(4), at(5), at(11), at(12), at(15), at(17), at(22), at(23), at(24), at(25), at(27), at(29), at(31), at(32), at(34), at(35)]).toEqual(
      ['身份鉴别', '身份鉴别', '访问控制', '访问控制', '安全审计', '安全审计', '入侵防范', '入侵防范', '恶意代码防范', '可信验证', '数据完整性', '数据保密性', '数据备份恢复', '数据备份恢复', '剩余信息保护', '个人信息保护', '个人信息保护'],
    );
    const smc = loadChecklist(3, COLLECTOR_NAMES).items.filter((i) => i.category === 'SMC').map((i) => `${i.code.slice(-2)} ${i.controlPoint.zh}`);
    expect(smc).toEqual(['01 系统管理', '02 系统管理', '03 审计管理', '04 审计管理', '05 安全管理', '06 安全管理', ...[7, 8, 9, 10, 11, 12].map((n) => `${String(n).padStart(2, '0')} 集中管控`)]);
    // Level 2 has no 数据保密性 and only 系统管理, 审计管理 in SMC.
    const l2 = loadChecklist(2, COLLECTOR_NAMES).items;
    expect(l2.some((i) => i.controlPoint.zh === '数据保密性')).toBe(false);
    expect(new Set(l2.filter((i) => i.category === 'SMC').map((i) => i.controlPoint.zh))).toEqual(new Set(['系统管理', '审计管理']));
  });

  it('high risks named by items exist in the catalogue', () => {
    const risks = loadHighRisks();
    for (const item of loadChecklist(3, COLLECTOR_NAMES).items) for (const r of item.highRisks) expect(risks[r], `${item.code} ${r}`).toBeDefined();
  });

  describe('bad files', () => {
    const variant = (edit: (text: string) => string) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-checklist-'));
      copyFileSync(path.join(CHECKLIST_DIR, 'high-risks.yaml'), path.join(dir, 'high-risks.yaml'));
      const file = path.join(dir, 'level-3.yaml');
      writeFileSync(file, edit(readFileSync(path.join(CHECKLIST_DIR, 'level-3.yaml'), 'utf8')));
      return file;
    };
    const risks = loadHighRisks();
    it('a duplicate code names the file and the code', () => {
      const file = variant((t) => t.replace('code: L3-PES1-02', 'code: L3-PES1-01'));
      expect(() => parseChecklist(file, COLLECTOR_NAMES, risks)).toThrow(`${file}: item L3-PES1-01: duplicate code`);
    });
    it('an unknown collector names the file, the code and the collector', () => {
      const file = variant((t) => t.replace('- host.password-ageing', '- host.password-ageing-typo'));
      expect(() => parseChecklist(file, COLLECTOR_NAMES, risks)).toThrow(`${file}: item L3-CES1-01: unknown collector host.password-ageing-typo`);
    });
    it('a code of the wrong category or level is refused', () => {
      expect(() => parseChecklist(variant((t) => t.replace('code: L3-PES1-02', 'code: L2-PES1-02')), COLLECTOR_NAMES, risks)).toThrow('item L2-PES1-02: the code is of level 2 in a level-3 file');
      expect(() => parseChecklist(variant((t) => t.replace('code: L3-PES1-02', 'code: L3-CNS1-99')), COLLECTOR_NAMES, risks)).toThrow('category PES does not match');
    });
    it('a level other than 2 or 3 is refused', () => {
      expect(() => parseLevel('4')).toThrow('level must be 2 or 3');
      expect(() => parseLevel('x')).toThrow('level must be 2 or 3');
      expect(() => parseChecklist(variant((t) => t.replace('level: 3', 'level: 5')), COLLECTOR_NAMES, risks)).toThrow('level must be 2 or 3');
    });
  });

  it('remedies: every collector exists, every runbook is registered and every article is in the starter knowledge base', () => {
    const remedies = loadRemedies(COLLECTOR_NAMES);
    expect(remedies.size).toBeGreaterThanOrEqual(9);
    const starter = path.join(CHECKLIST_DIR, '..', '..', 'monitor', 'kb', 'starter').replace(`${path.sep}dist${path.sep}`, path.sep);
    const articleIds = new Set(readdirSync(starter).filter((f) => /\.(ya?ml|md)$/.test(f) && f !== 'README.md').map((f) => /^id:\s*(\S+)/m.exec(readFileSync(path.join(starter, f), 'utf8'))![1]));
    const runbooks = new Set(RUNBOOKS.map((r) => r.name));
    for (const [collector, list] of remedies) {
      expect(COLLECTOR_NAMES.has(collector)).toBe(true);
      for (const r of list) expect(r.kind === 'runbook' ? runbooks.has(r.id) : articleIds.has(r.id), `${collector} ${r.kind} ${r.id}`).toBe(true);
    }
    expect(remedies.get('ca.crl-fresh')).toEqual([{ kind: 'runbook', id: 'publish-crl', collector: 'ca.crl-fresh' }, { kind: 'kb', id: 'crl-next-update', collector: 'ca.crl-fresh' }]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-remedies-'));
    writeFileSync(path.join(dir, 'remedies.yaml'), 'collectors:\n  ca.crl-stale:\n    runbooks: [publish-crl]\n');
    expect(() => loadRemedies(COLLECTOR_NAMES, dir)).toThrow('remedies for unknown collector "ca.crl-stale"');
    const dir2 = mkdtempSync(path.join(os.tmpdir(), 'egov-remedies-'));
    writeFileSync(path.join(dir2, 'remedies.yaml'), 'collectors:\n  ca.ocsp:\n    kb: ["Not An Id"]\n');
    expect(() => loadRemedies(COLLECTOR_NAMES, dir2)).toThrow('not a runbook or article id');
  });
});
