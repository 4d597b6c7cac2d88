// The console's runbooks section in chromium: a second operator sees a run
// waiting at its four-eyes gate, approves it from the page, the run goes on,
// and its log opens; in Chinese too; no CSP violation.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineRunbook, runRunbook } from '../playbooks/index.js';
import { useBrowserDesk } from './support/browser.js';

const console_ = useBrowserDesk('pb-browser');

describe('the runbooks section in chromium', () => {
  it('a second operator approves a waiting gate from the page; the run finishes and its log opens', async () => {
    const { desk, tmp } = console_;
    const alicePerson = await desk.person('Alice Netadmin', ['network-admin']);
    const bobPerson = await desk.person('Bob Netadmin', ['network-admin']);
    const alice = console_.files(alicePerson);
    writeFileSync(path.join(tmp, 'ca.pem'), desk.caPem);
    const book = defineRunbook({ name: 'test-browser-gate', title: 't', description: 'a gate', params: {}, steps: [{ name: 'switch-links', description: 'move the county uplinks', changes: true, gate: 'four-eyes', run: async () => 'moved' }] });
    const running = runRunbook({ runbook: book, params: {}, operator: { dataDir: desk.dir, api: { url: desk.secureBase, certFile: alice.cert, keyFile: alice.key, caFile: path.join(tmp, 'ca.pem') } }, who: 'Alice Netadmin', approvalPollMs: 200 });

    const { context, page, problems } = await console_.open(bobPerson, { viewport: { width: 1200, height: 800 } });
    let found = false;
    for (let i = 0; i < 100 && !found; i++) {
      await page.goto(`${desk.secureBase}/runbooks`);
      found = (await page.locator('button[id^="approve-"]').count()) > 0;
      if (!found) await new Promise((r) => setTimeout(r, 200));
    }
    expect(found).toBe(true);
    await expect(page.locator('#nav-runbooks').getAttribute('aria-current')).resolves.toBe('page');
    await expect(page.locator('#waiting').textContent()).resolves.toContain('move the county uplinks');
    await console_.shot(page, 'runbooks-waiting.png');
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
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
