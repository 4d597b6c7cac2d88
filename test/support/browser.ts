// The console in a real browser: Playwright driving Debian's chromium
// against a served suite (startDeskSuite), each person signed in with their
// client certificate over mTLS. `useBrowserDesk` starts both for a test file
// and closes them after it; `open` gives a page as a person and records what
// went wrong on the way (CSP violations always; console errors, page errors
// and failed requests when asked).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startDeskSuite, type DeskSuite, type Person } from './desk.js';

export const CHROMIUM = process.env.EGOV_CHROMIUM ?? '/usr/bin/chromium';
/** With EGOV_DOCS_SCREENSHOTS=1, pages are saved under docs/ for the README's tour. */
export const SCREENSHOTS = process.env.EGOV_DOCS_SCREENSHOTS === '1' ? path.resolve('docs') : undefined;

export interface Watched {
  context: BrowserContext;
  page: Page;
  /** CSP violations, and with `watch: 'all'` console errors, page errors and failed requests. */
  problems: string[];
}

export interface OpenOptions {
  locale?: string;
  viewport?: { width: number; height: number };
  acceptDownloads?: boolean;
  watch?: 'csp' | 'all';
}

export interface BrowserDesk {
  readonly desk: DeskSuite;
  readonly browser: Browser;
  /** A scratch directory removed after the file's tests. */
  readonly tmp: string;
  /** The certificate and key files of `who`, written into tmp. */
  files(who: Person): { cert: string; key: string };
  open(who: Person, options?: OpenOptions): Promise<Watched>;
  shot(page: Page, name: string): Promise<void>;
}

/** Starts a desk suite and chromium before the file's tests (then `setUp`), and closes both after. */
export function useBrowserDesk(name: string, setUp?: (desk: DeskSuite) => Promise<void>): BrowserDesk {
  let desk: DeskSuite | undefined;
  let browser: Browser | undefined;
  let tmp: string | undefined;
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the browser desk's ${what} is used before beforeAll ran`);
    return value;
  };
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: install Debian's chromium package (.ci/run does)`);
    desk = await startDeskSuite();
    if (setUp) await setUp(desk);
    tmp = mkdtempSync(path.join(os.tmpdir(), `egov-${name}-`));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await desk?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  const handle: BrowserDesk = {
    get desk() {
      return ready(desk, 'suite');
    },
    get browser() {
      return ready(browser, 'browser');
    },
    get tmp() {
      return ready(tmp, 'scratch directory');
    },
    files(who) {
      const cert = path.join(handle.tmp, `${who.serial}.crt`);
      const key = path.join(handle.tmp, `${who.serial}.key`);
      writeFileSync(cert, who.certPem);
      writeFileSync(key, who.keyPem);
      return { cert, key };
    },
    async open(who, options = {}) {
      const { cert, key } = handle.files(who);
      const context = await handle.browser.newContext({
        clientCertificates: [{ origin: handle.desk.secureBase, certPath: cert, keyPath: key }],
        ignoreHTTPSErrors: true,
        acceptDownloads: options.acceptDownloads ?? false,
        locale: options.locale ?? 'en-GB',
        viewport: options.viewport ?? { width: 1200, height: 900 },
      });
      const problems: string[] = [];
      await context.exposeBinding('__cspViolation', (_source, text: string) => void problems.push(`CSP: ${text}`));
      await context.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => (window as unknown as { __cspViolation(t: string): void }).__cspViolation(`${e.violatedDirective} ${e.blockedURI}`));
      });
      const page = await context.newPage();
      if (options.watch === 'all') {
        page.on('console', (m) => {
          // A failed load is reported below with its URL.
          if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
        });
        // Every failed request but the browser's own favicon probe (the console serves none).
        page.on('response', (r) => {
          if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
        });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      }
      return { context, page, problems };
    },
    async shot(page, name) {
      if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage: true });
    },
  };
  return handle;
}
