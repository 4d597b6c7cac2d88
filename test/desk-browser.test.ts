// The desk in a real browser: Playwright driving Debian's chromium with
// client certificates. Operator A submits and vets a person request,
// operator B approves and issues it, the PKCS#12 is downloaded and openssl
// verifies the certificate inside it against the CA chain. A signed-in
// network-admin cannot approve. With EGOV_DOCS_SCREENSHOTS=1 the main pages
// are saved under docs/ for the README's tour.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Person } from './support/desk.js';
import { opensslOk } from './support/openssl.js';
import { useBrowserDesk, type Watched } from './support/browser.js';

const console_ = useBrowserDesk('browser');

/** A page as `who`, on the desk's front page. */
async function signedInAs(who: Person, locale = 'en-GB'): Promise<Watched> {
  const watched = await console_.open(who, { locale, acceptDownloads: true, viewport: { width: 1200, height: 800 } });
  await watched.page.goto(`${console_.desk.secureBase}/desk`);
  return watched;
}
const shot = (page: Watched['page'], name: string) => console_.shot(page, name);

describe('the registration desk in chromium', () => {
  it('A submits and vets, B approves and issues, the PKCS#12 verifies against the chain', async () => {
    const { desk, tmp } = console_;
    const operatorA = await desk.person('Operator A', ['ra-operator']);
    const operatorB = await desk.person('Operator B', ['ra-operator']);
    const a = await signedInAs(operatorA);
    await expect(a.page.locator('#who').textContent()).resolves.toContain('Operator A');

    // A submits a person request from the form.
    await a.page.goto(`${desk.secureBase}/desk/requests/new?type=person`);
    await a.page.fill('#f-name', 'Li Lei');
    await a.page.selectOption('#f-idType', 'resident-id');
    await a.page.fill('#f-idNumber', '11010519491231002X');
    await a.page.fill('#f-department', 'Big Data Bureau');
    await a.page.fill('#f-email', 'li.lei@city.gov.cn');
    await shot(a.page, 'desk-new-request.png');
    await a.page.click('#submit');
    await a.page.waitForURL(/\/desk\/requests\/\d+/);
    const requestUrl = a.page.url().split('?')[0]!;
    await expect(a.page.locator('.state').first().getAttribute('data-state')).resolves.toBe('submitted');

    // A vets: the document is checked against the request.
    await a.page.fill('#f-documentNumber', '11010519491231002X');
    await a.page.fill('#f-presentedBy', 'Li Lei in person');
    await a.page.click('#do-vet');
    await a.page.waitForSelector('[data-state="vetted"]');

    // Four eyes: A cannot approve what A vetted; the page says why.
    await a.page.click('#do-approve');
    await expect(a.page.locator('.flash.error').textContent()).resolves.toMatch(/four eyes/);
    await a.page.goto(`${desk.secureBase}/desk/requests`);
    await shot(a.page, 'desk-queue.png');

    // B approves and issues.
    const b = await signedInAs(operatorB);
    await b.page.goto(requestUrl);
    await b.page.click('#do-approve');
    await b.page.waitForSelector('[data-state="approved"]');
    await b.page.click('#do-issue');
    await b.page.waitForSelector('[data-state="issued"]');
    await shot(b.page, 'desk-request.png');

    // The applicant's password, and the one download.
    await b.page.fill('#f-p12', 'li-lei-chosen-password');
    const [download] = await Promise.all([b.page.waitForEvent('download'), b.page.click('#do-pkcs12')]);
    const p12 = path.join(tmp, 'li-lei.p12');
    await download.saveAs(p12);
    const leaf = path.join(tmp, 'li-lei.pem');
    opensslOk('pkcs12', '-in', p12, '-passin', 'pass:li-lei-chosen-password', '-clcerts', '-nokeys', '-out', leaf);
    writeFileSync(path.join(tmp, 'chain.pem'), desk.caPem);
    expect(opensslOk('verify', '-CAfile', path.join(tmp, 'chain.pem'), leaf)).toMatch(/: OK/);
    expect(opensslOk('x509', '-in', leaf, '-noout', '-subject')).toMatch(/Li Lei/);

    // The request page now says delivered; a second download is not offered.
    await b.page.goto(requestUrl);
    await b.page.waitForSelector('[data-state="delivered"]');
    await expect(b.page.locator('#do-pkcs12').count()).resolves.toBe(0);
    await b.page.click('#issued-serial');
    await b.page.waitForSelector('#serial');
    await shot(b.page, 'desk-certificate.png');

    // The desk in Chinese, from the switch.
    await b.page.click('#lang');
    await expect(b.page.locator('header').textContent()).resolves.toContain('注册服务台');
    await shot(b.page, 'desk-certificate-zh.png');
    await a.context.close();
    await b.context.close();
  }, 120_000);

  it('a signed-in network-admin cannot approve', async () => {
    const { desk, tmp } = console_;
    const operator = await desk.person('Operator C', ['ra-operator']);
    const admin = await desk.person('Network Admin', ['network-admin']);
    const c = await signedInAs(operator);
    await c.page.goto(`${desk.secureBase}/desk/requests/new?type=device`);
    await c.page.fill('#f-hostname', 'fw-county-02.city.gov.cn');
    await c.page.fill('#f-ipAddresses', '10.30.0.1');
    await c.page.fill('#f-site', 'County B');
    await c.page.click('#submit');
    await c.page.waitForURL(/\/desk\/requests\/\d+/);
    const requestUrl = c.page.url().split('?')[0]!;
    await c.page.fill('#f-documentNumber', 'FW-02');
    await c.page.fill('#f-presentedBy', 'county office');
    await c.page.click('#do-vet');
    await c.page.waitForSelector('[data-state="vetted"]');

    const n = await signedInAs(admin);
    await expect(n.page.locator('#roles').textContent()).resolves.toContain('network-admin');
    // The page is closed to the role...
    const page = await n.page.goto(requestUrl);
    expect(page?.status()).toBe(403);
    await expect(n.page.locator('.flash.error').textContent()).resolves.toMatch(/admits ra-operator/);
    // ...and so is the approval itself, even posted with the admin's own session token.
    // (The browser context's own requests: same certificate, same session cookie.)
    const csrf = ((await (await n.context.request.get(`${desk.secureBase}/api/access/me`)).json()) as { session: { csrf: string } }).session.csrf;
    const approve = await n.context.request.post(`${requestUrl}/approve`, { form: { _csrf: csrf }, maxRedirects: 0 });
    expect(approve.status()).toBe(403);
    expect(await approve.text()).toMatch(/admits ra-operator; your certificate holds network-admin/);
    const state = (await desk.suite.database.db.selectFrom('ra_request').select('state').where('id', '=', Number(requestUrl.split('/').pop())).executeTakeFirstOrThrow()).state;
    expect(state).toBe('vetted');
    await c.context.close();
    await n.context.close();
  }, 120_000);
});
