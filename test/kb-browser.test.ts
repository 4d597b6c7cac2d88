// The knowledge base pages in a real browser (Playwright, Debian's chromium,
// client certificates): browse and search (a two-character Chinese query),
// an article with its revisions, write a new one, submit it, the author
// cannot publish it and another administrator does, edit it again, the
// pages in Chinese, an auditor reads but cannot write, a 10 kB query is a
// clear error.

import { describe, expect, it } from 'vitest';
import { KnowledgeBase, readArticleFiles, starterDirectory } from '../monitor/kb/index.js';
import type { Person } from './support/desk.js';
import { useBrowserDesk, type Watched } from './support/browser.js';

const console_ = useBrowserDesk('kb-browser', async (desk) => {
  await new KnowledgeBase(desk.suite.database).importArticles(
    readArticleFiles(starterDirectory()).flatMap((f) => f.articles),
    { by: 'egov-ops', source: 'test' },
  );
});
const signedInAs = (who: Person, locale = 'en-GB'): Promise<Watched> => console_.open(who, { locale });

describe('the knowledge base in chromium', () => {
  it('browse, search 光衰, write, submit, publish by another administrator, edit, Chinese pages, auditor read-only', async () => {
    const { desk } = console_;
    const wang = await desk.person('Net Admin Wang', ['network-admin']);
    const li = await desk.person('Net Admin Li', ['network-admin']);
    const auditor = await desk.person('Auditor Zhou', ['auditor']);
    const base = desk.secureBase;

    const w = await signedInAs(wang);
    await w.page.goto(`${base}/kb`);
    await expect(w.page.locator('#nav-kb').getAttribute('aria-current')).resolves.toBe('page');
    expect(await w.page.locator('#kb-list tbody tr').count()).toBeGreaterThanOrEqual(30);

    // A two-character Chinese query goes through the short path.
    await w.page.fill('#kb-q', '光衰');
    await w.page.click('#kb-go');
    await w.page.waitForSelector('#kb-results');
    await expect(w.page.locator('#kb-results tr[data-id="low-optical-power"]').count()).resolves.toBe(1);
    await w.page.click('#kb-results tr[data-id="low-optical-power"] a');
    await w.page.waitForURL(/\/kb\/articles\/low-optical-power$/);
    await expect(w.page.locator('#kb-steps li').count()).resolves.toBeGreaterThan(2);
    await expect(w.page.locator('#kb-applies').textContent()).resolves.toContain('interface-errors');
    await expect(w.page.locator('#kb-revisions tr[data-revision="1"]').count()).resolves.toBe(1);

    // Wang writes a new article.
    await w.page.goto(`${base}/kb/new`);
    await w.page.fill('#f-id', 'county-olt-uplink');
    await w.page.fill('#f-titleEn', 'County OLT uplink down');
    await w.page.fill('#f-titleZh', '县级 OLT 上联中断');
    await w.page.fill('#f-symptomsEn', 'All villages behind the OLT go down.');
    await w.page.fill('#f-symptomsZh', 'OLT 下所有村点离线。');
    await w.page.fill('#f-stepsEn', 'Check the uplink optical power.\nCall the carrier.');
    await w.page.fill('#f-stepsZh', '检查上联光功率。\n联系运营商。');
    await w.page.check('#f-rule-interface-down');
    await w.page.check('#f-kind-switch');
    await w.page.fill('#f-logPatterns', 'OLT.*uplink.*down');
    await w.page.fill('#f-tags', 'olt, 上联');
    await w.page.click('#kb-save');
    await w.page.waitForURL(/\/kb\/articles\/county-olt-uplink/);
    await expect(w.page.locator('.flash.ok').textContent()).resolves.toContain('county-olt-uplink');
    await expect(w.page.locator('#kb-article [data-state]').first().getAttribute('data-state')).resolves.toBe('draft');
    await w.page.click('#kb-submit');
    await w.page.waitForSelector('#kb-article [data-state="review"]');
    // The author has no publish button, and the page says why.
    await expect(w.page.locator('#kb-publish').count()).resolves.toBe(0);
    await expect(w.page.locator('#kb-own').count()).resolves.toBe(1);
    // A bad edit (no title) goes back to the form with the reason, and nothing is saved.
    await w.page.goto(`${base}/kb/articles/county-olt-uplink/edit`);
    await w.page.fill('#f-titleEn', '');
    await w.page.fill('#f-titleZh', '');
    await w.page.click('#kb-save');
    await w.page.waitForSelector('.flash.error');
    await expect(w.page.locator('.flash.error').textContent()).resolves.toMatch(/article title: is missing/);

    // Li publishes it.
    const l = await signedInAs(li);
    await l.page.goto(`${base}/kb/review`);
    await l.page.click('#kb-waiting tr[data-id="county-olt-uplink"] a');
    await l.page.fill('#kb-publish-comment', 'checked with the county');
    await l.page.click('#kb-publish');
    await l.page.waitForSelector('#kb-article [data-state="published"]');
    await expect(l.page.locator('#kb-revisions tbody tr').count()).resolves.toBe(3);
    await expect(l.page.locator('#kb-revisions tr[data-revision="3"]').textContent()).resolves.toContain('checked with the county');
    // Li edits it: a new revision, still published, with what changed.
    await l.page.click('#kb-edit');
    await l.page.fill('#f-symptomsEn', 'All villages behind the OLT go down at once.');
    await l.page.fill('#f-comment', 'wording');
    await l.page.click('#kb-save');
    await l.page.waitForSelector('#kb-revisions tr[data-revision="4"]');
    await expect(l.page.locator('#kb-revisions tr[data-revision="4"]').textContent()).resolves.toMatch(/Net Admin Li.*symptoms.*wording/);
    await expect(l.page.locator('#kb-symptoms').textContent()).resolves.toContain('at once');

    // The alert matching sees it now that it is published.
    const matched = await new KnowledgeBase(desk.suite.database).matchAlert({ rule: 'syslog-pattern', kind: 'switch', logMessage: 'OLT-3 uplink GE0/1 down' });
    expect(matched.map((m) => m.id)).toContain('county-olt-uplink');

    // In Chinese.
    const z = await signedInAs(li, 'zh-CN');
    await z.page.goto(`${base}/kb/articles/county-olt-uplink`);
    await expect(z.page.locator('h1').textContent()).resolves.toBe('县级 OLT 上联中断');
    await expect(z.page.locator('#kb-steps li').first().textContent()).resolves.toBe('检查上联光功率。');
    await expect(z.page.locator('#kb-symptoms h2').textContent()).resolves.toBe('现象');
    await z.page.goto(`${base}/kb?q=${encodeURIComponent('端口')}`);
    expect(await z.page.locator('#kb-results tbody tr').count()).toBeGreaterThan(0);

    // A 10 kB query: a clear error on the page.
    const long = await w.page.goto(`${base}/kb?q=${'a'.repeat(10_240)}`);
    expect(long?.status()).toBe(400);
    await expect(w.page.locator('.flash.error').textContent()).resolves.toMatch(/10240 characters long; at most 200/);

    // The auditor reads but does not write.
    const a = await signedInAs(auditor);
    await a.page.goto(`${base}/kb/articles/county-olt-uplink`);
    await expect(a.page.locator('#kb-article').count()).resolves.toBe(1);
    await expect(a.page.locator('#kb-actions').count()).resolves.toBe(0);
    const edit = await a.page.goto(`${base}/kb/new`);
    expect(edit?.status()).toBe(403);

    for (const who of [w, l, z, a]) {
      expect(who.problems).toEqual([]);
      await who.context.close();
    }
  });
});
