// The console's runbooks section in chromium: a second operator sees a run
// waiting at its four-eyes gate, approves it from the page, the run goes on,
// and its log opens; in Chinese too; no CSP violation.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineRunbook, runRunbook } from '../playbooks/index.js';
import { startDeskSuite, type DeskSuite } from './support/desk.js';

const CHROMIUM = process.env.EGOV_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.EGOV_DOCS_SCREENSHOTS === '1' ? path.resolve('docs') : undefined;

let desk: DeskSuite;
let browser: Browser;
let tmp: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: install Debian's chromium package (.ci/run does)`);
  desk = await startDeskSuite();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'egov-pb-browser-'));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await desk?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the runbooks section in chromium', () => {
  it('a second operator approves a waiting gate from the page; the run finishes and its log opens', async () => {
    const files = async (name: string) => {
      const who = await desk.person(name, ['network-admin']);
      const cert = path.join(tmp, `${who.serial}.crt`);
      const key = path.join(tmp, `${who.serial}.key`);
      writeFileSync(cert, who.certPem);
      writeFileSync(key, who.keyPem);
      return { cert, key };
    };
    const alice = await files('Alice Netadmin');
    const bob = await files('Bob Netadmin');
    writeFileSync(path.join(tmp, 'ca.pem'), desk.caPem);
    const book = defineRunbook({ name: 'test-browser-gate', title: 't', description: 'a gate', params: {}, steps: [{ name: 'switch-links', description: 'move the county uplinks', changes: true, gate: 'four-eyes', run: async () => 'moved' }] });
    const running = runRunbook({ runbook: book, params: {}, operator: { dataDir: desk.dir, api: { url: desk.secureBase, certFile: alice.cert, keyFile: alice.key, caFile: path.join(tmp, 'ca.pem') } }, who: 'Alice Netadmin', approvalPollMs: 200 });

    const context = await browser.newContext({ clientCertificates: [{ origin: desk.secureBase, certPath: bob.cert, keyPath: bob.key }], ignoreHTTPSErrors: true, locale: 'en-GB', viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => void (/Content Security Policy/i.test(m.text()) && violations.push(m.text())));
    let found = false;
    for (let i = 0; i < 100 && !found; i++) {
      await page.goto(`${desk.secureBase}/runbooks`);
      found = (await page.locator('button[id^="approve-"]').count()) > 0;
      if (!found) await new Promise((r) => setTimeout(r, 200));
    }
    expect(found).toBe(true);
    await expect(page.locator('#nav-runbooks').getAttribute('aria-current')).resolves.toBe('page');
    await expect(page.locator('#waiting').textContent()).resolves.toContain('move the county uplinks');
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, 'runbooks-waiting.png'), fullPage: true });
    await page.locator('#waiting input[name="reason"]').first().fill('change window 22:00');
    await page.locator('button[id^="approve-"]').first().click();
    await page.waitForURL(/\/runbooks\?ok=/);
    await expect(page.locator('.flash.ok').textContent()).resolves.toMatch(/approval \d+ given/);
    const result = await running;
    expect(result.status).toBe('succeeded');

    await page.goto(`${desk.secureBase}/runbooks`);
    await page.click(`#run-${result.runId} a`);
    await expect(page.locator('#run-log').textContent()).resolves.toContain('approved');
    await page.goto(`${desk.secureBase}/runbooks?lang=zh-CN`);
    await expect(page.locator('h1').textContent()).resolves.toBe('运维手册');
    await expect(page.locator('#none-waiting').textContent()).resolves.toBe('没有等待审批的关卡。');
    expect(violations).toEqual([]);
    await context.close();
  }, 120_000);
});
