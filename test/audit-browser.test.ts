// The audit pages in chromium: the security officer signs in with the
// password, runs an audit from the overview, opens an item, attests it and
// sees the score change; the auditor reads and sees no forms; the backups
// page says the DR level and why it is not higher; the audit log searches
// and verifies; English and Chinese.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService } from '../audit/index.js';
import { ADMIN_PASSWORD, startDeskSuite, type DeskSuite, type Person } from './support/desk.js';

const CHROMIUM = process.env.EGOV_CHROMIUM ?? '/usr/bin/chromium';
let desk: DeskSuite;
let browser: Browser;
let tmp: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}`);
  desk = await startDeskSuite();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'egov-audit-browser-'));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await desk?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function open(who: Person, locale: string, password?: string): Promise<Page> {
  const certPath = path.join(tmp, `${who.serial}.crt`);
  const keyPath = path.join(tmp, `${who.serial}.key`);
  writeFileSync(certPath, who.certPem);
  writeFileSync(keyPath, who.keyPem);
  const context = await browser.newContext({ clientCertificates: [{ origin: desk.secureBase, certPath, keyPath }], ignoreHTTPSErrors: true, locale, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const violations: string[] = [];
  page.on('console', (m) => m.type() === 'error' && violations.push(m.text()));
  await page.goto(`${desk.secureBase}/sign-in?back=%2Faudits`);
  if (password) {
    await page.fill('input[name=password]', password);
    await page.click('#sign-in');
  }
  return page;
}

describe('audit pages in chromium', () => {
  it('officer runs, opens an item, attests; the score moves; auditor reads only', async () => {
    const officer = await desk.person('Officer Sun', ['security-officer'], { password: ADMIN_PASSWORD });
    const page = await open(officer, 'en-GB', ADMIN_PASSWORD);
    await page.goto(`${desk.secureBase}/audits`);
    await expect(page.locator('#nav-audits').getAttribute('aria-current')).resolves.toBe('page');
    expect(await page.locator('#nav-backups').count()).toBe(1);
    expect(await page.locator('#nav-audit-log').count()).toBe(1);
    await page.selectOption('select[name=level]', '2');
    await page.click('#run');
    await page.waitForURL(/\/audits\/runs\/\d+/);
    const firstScore = Number(await page.locator('#score').textContent());
    expect(firstScore).toBeGreaterThan(0);
    await expect(page.locator('#conclusion').textContent()).resolves.toMatch(/优|良|中|差/);
    expect(await page.locator('#categories tbody tr').count()).toBe(10);
    expect(await page.locator('#report-pdf').getAttribute('href')).toMatch(/format=pdf/);

    await page.click('a[href^="/audits/items/L2-PES1-01"]');
    await expect(page.locator('#item-status').textContent()).resolves.toBe('manual, pending');
    await page.selectOption('#attest-form select[name=result]', 'pass');
    await page.fill('#attest-form input[name=note]', 'machine room building certificate inspected');
    await page.fill('#attest-form input[name=until]', '2099-12-31');
    await page.click('#attest');
    await expect(page.locator('.flash.ok').textContent()).resolves.toContain('L2-PES1-01 pass');
    await expect(page.locator('#findings').textContent()).resolves.toContain('machine room building certificate inspected');
    // A past date is refused with the reason.
    await page.fill('#waive-form input[name=reason]', 'accepted');
    await page.fill('#waive-form input[name=until]', '2001-01-01');
    await page.click('#waive');
    await expect(page.locator('.flash.error').textContent()).resolves.toContain('in the past');

    await page.goto(`${desk.secureBase}/audits`);
    await page.selectOption('select[name=level]', '2');
    await page.click('#run');
    await page.waitForURL(/\/audits\/runs\/\d+/);
    expect(Number(await page.locator('#score').textContent())).toBeGreaterThan(firstScore);
    expect(await page.locator('#trend tbody tr').count()).toBe(2);
    // An item that does not pass names the runbook or article that fixes it, linked.
    const runId = Number(/\/audits\/runs\/(\d+)/.exec(page.url())![1]);
    const stored = await new AuditService({ database: desk.suite.database }).getRun(runId);
    const fixable = stored.results.find((r) => r.remedies?.some((m) => m.kind === 'runbook'))!;
    expect(fixable, 'an item with a runbook remedy').toBeDefined();
    await page.goto(`${desk.secureBase}/audits/items/${fixable.code}?run=${runId}`);
    for (const m of fixable.remedies!) expect(await page.locator(`#remedy-${m.kind}-${m.id}`).getAttribute('href')).toBe(m.kind === 'kb' ? `/kb/articles/${m.id}` : `/runbooks#runbook-${m.id}`);
    const runbook = fixable.remedies!.find((m) => m.kind === 'runbook')!;
    await page.click(`#remedy-runbook-${runbook.id}`);
    await page.waitForURL((u) => u.pathname === '/runbooks');
    expect(await page.locator(`#runbook-${runbook.id}`).count()).toBe(1);

    // Backups: the DR level and why not higher.
    await page.goto(`${desk.secureBase}/backups`);
    await expect(page.locator('#dr-level').textContent()).resolves.toBe('0');
    expect(await page.locator('#dr-missing li').count()).toBeGreaterThan(0);

    // Audit log: search and verify.
    await page.goto(`${desk.secureBase}/audit-log`);
    await page.fill('#search input[name=action]', 'audit.attest');
    await page.click('#search-button');
    expect(await page.locator('#records tbody tr').count()).toBe(1);
    await page.click('#verify');
    await expect(page.locator('.flash.ok').textContent()).resolves.toMatch(/chain intact|哈希链完整/);

    // An attestation with an evidence file (recorded as the CLI does): the item page links it for download.
    const scan = path.join(tmp, '门禁记录.pdf');
    writeFileSync(scan, '%PDF-1.4\n% access-control log, November\n');
    const attested = await new AuditService({ database: desk.suite.database }).attest({ code: 'L2-CES1-01', result: 'partial', note: 'password policy seen on paper', files: [scan], until: '2099-12-31' }, { actor: 'Officer Sun', source: 'test' });
    const sha = attested.attachments[0]!;

    const auditor = await desk.person('Auditor Qian', ['auditor']);
    const ro = await open(auditor, 'zh-CN');
    await ro.goto(`${desk.secureBase}/audits`);
    await expect(ro.locator('h1').textContent()).resolves.toBe('等级保护测评（自评估）');
    expect(await ro.locator('#run-form').count()).toBe(0);
    await ro.click('a[href^="/audits/runs/"]');
    await ro.click('a[href^="/audits/items/L2-CES1-01"]');
    expect(await ro.locator('#attest-form').count()).toBe(0);
    await expect(ro.locator('#requirement').textContent()).resolves.toMatch(/口令/);
    const link = ro.locator(`#attachment-${sha.slice(0, 12)}`);
    await expect(link.textContent()).resolves.toBe('门禁记录.pdf');
    const [download] = await Promise.all([ro.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('门禁记录.pdf');
    const saved = path.join(tmp, 'downloaded.pdf');
    await download.saveAs(saved);
    expect(readFileSync(saved).equals(readFileSync(scan))).toBe(true);
    const logged = await desk.suite.database.db.selectFrom('audit_log').select(['actor', 'object', 'outcome']).where('action', '=', 'audit.attachment-download').execute();
    expect(logged).toEqual([{ actor: expect.stringContaining('Auditor Qian'), object: `audit-attachment:${sha}`, outcome: 'success' }]);
  });
});
