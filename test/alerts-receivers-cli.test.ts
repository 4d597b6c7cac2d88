// `egov-ops alerts receivers list|add|remove`, in-process over a data
// directory: secrets come from a file or the environment (there is no option
// that takes one on the command line), are sealed at rest and never shown;
// what was added is used (a test message to the DingTalk stand-in is signed
// with the secret read from the file); every change is audited; bad input is
// refused with what is wrong named, and nothing is written.

import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit, openDatabase } from '../core/index.js';
import { registerAlertsCommands } from '../cli/alerts.js';
import { captureServer, type CaptureServer } from './support/alerts.js';
import { inProcessCli } from './support/cli.js';

const dirs: string[] = [];
let capture: CaptureServer;
beforeAll(async () => {
  capture = await captureServer();
});
afterAll(async () => {
  await capture?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const egov = inProcessCli(registerAlertsCommands, { quietSubcommands: true });

describe('egov-ops alerts receivers', () => {
  it('adds receivers with secrets from files and the environment, lists them without secrets, uses them, removes them; all audited', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-receivers-cli-'));
    dirs.push(dir);
    const d = ['--data-dir', dir];
    writeFileSync(path.join(dir, 'ding.secret'), 'SECding-from-file\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'smtp.pass'), 'smtp-pass-from-file\n', { mode: 0o600 });
    process.env.EGOV_TEST_DING_TOKEN = 'ding-token-from-env';
    process.env.EGOV_TEST_HOOK_BEARER = 'bearer-from-env';
    try {
      const added = [
        ['hook', '--kind', 'webhook', '--url', `${capture.url}/hook`, '--password-env', 'EGOV_TEST_HOOK_BEARER', '--language', 'en'],
        ['ding', '--kind', 'dingtalk', '--url', `${capture.url}/robot/send`, '--secret-file', path.join(dir, 'ding.secret'), '--token-env', 'EGOV_TEST_DING_TOKEN', '--rate', '20'],
        ['mail', '--kind', 'email', '--host', 'smtp.city.gov.cn', '--port', '587', '--from', 'egov-ops@city.gov.cn', '--to', 'noc@city.gov.cn, duty@city.gov.cn', '--user', 'noc', '--password-file', path.join(dir, 'smtp.pass'), '--severities', 'critical,major'],
        ['am', '--kind', 'alertmanager', '--url', 'http://127.0.0.1:9093'],
      ];
      for (const args of added) {
        const r = await egov([...d, 'alerts', 'receivers', 'add', ...args]);
        expect(r.error, String(r.error)).toBeUndefined();
        expect(r.stdout).toMatch(new RegExp(`receiver ${args[0]} \\(`));
      }
      const listed = await egov([...d, '--json', 'alerts', 'receivers', 'list']);
      const list = JSON.parse(listed.stdout).receivers as Array<Record<string, unknown>>;
      expect(list.map((r) => `${r.name}:${r.type}`)).toEqual(['am:alertmanager', 'ding:dingtalk', 'hook:webhook', 'mail:email']);
      expect(list.find((r) => r.name === 'ding')).toMatchObject({ ratePerMinute: 20, secrets: ['secret', 'token'] });
      expect(list.find((r) => r.name === 'mail')).toMatchObject({ host: 'smtp.city.gov.cn', port: 587, to: ['noc@city.gov.cn', 'duty@city.gov.cn'], severities: ['critical', 'major'], secrets: ['password'] });
      expect(list.find((r) => r.name === 'hook')).toMatchObject({ secrets: ['password'], language: 'en' });
      const text = (await egov([...d, 'alerts', 'receivers', 'list'])).stdout;
      expect(text).toMatch(/^ding\s+dingtalk/m);
      // Never shown, and sealed at rest.
      for (const out of [listed.stdout, text]) expect(out).not.toMatch(/SECding|ding-token-from|smtp-pass|bearer-from/);
      const database = await openDatabase({ dataDir: dir });
      const stored = await database.db.selectFrom('alert_receiver').selectAll().execute();
      expect(stored.map((r) => r.settings + Buffer.from(r.secret ?? Buffer.alloc(0)).toString('latin1')).join()).not.toMatch(/SECding|ding-token-from|smtp-pass|bearer-from/);

      // What was added is what is used: the test message is signed with the secret from the file.
      capture.answer = () => ({ status: 200, body: { errcode: 0, errmsg: 'ok' } });
      const before = capture.requests.length;
      const tested = await egov([...d, 'alerts', 'test-receiver', 'ding']);
      expect(tested.stdout).toMatch(/^sent/);
      const request = capture.requests.slice(before).find((r) => r.url.startsWith('/robot/send'))!;
      const url = new URL(request.url, 'http://x');
      expect(url.searchParams.get('access_token')).toBe('ding-token-from-env');
      const ts = url.searchParams.get('timestamp')!;
      expect(decodeURIComponent(/[?&]sign=([^&]*)/.exec(request.url)![1]!)).toBe(createHmac('sha256', 'SECding-from-file').update(`${ts}\nSECding-from-file`).digest('base64'));

      // Removed: gone from the list, audited with the rest.
      const removed = await egov([...d, 'alerts', 'receivers', 'remove', 'am']);
      expect(removed.stdout).toMatch(/receiver am removed/);
      const after = JSON.parse((await egov([...d, '--json', 'alerts', 'receivers', 'list'])).stdout).receivers as Array<{ name: string }>;
      expect(after.map((r) => r.name)).toEqual(['ding', 'hook', 'mail']);
      const puts = await listAudit(database, { action: 'alerts.receiver-put' });
      expect(puts.map((a) => a.object).sort()).toEqual(['receiver:am', 'receiver:ding', 'receiver:hook', 'receiver:mail']);
      expect(JSON.stringify(puts)).not.toMatch(/SECding|ding-token-from|smtp-pass|bearer-from/);
      expect((await listAudit(database, { action: 'alerts.receiver-remove' })).map((a) => a.object)).toEqual(['receiver:am']);
      await database.close();

      // Bad input: named clearly, nothing written.
      const refused = async (args: string[], message: RegExp) => {
        const r = await egov([...d, 'alerts', 'receivers', ...args]);
        expect(r.error?.message ?? '', args.join(' ')).toMatch(message);
      };
      await refused(['add', 'x', '--kind', 'webhook', '--url', 'ftp://files.city.gov.cn/hook'], /not an http\(s\) URL/);
      await refused(['add', 'x', '--kind', 'webhook', '--url', 'not a url'], /is not a URL/);
      await refused(['add', 'x', '--kind', 'pager', '--url', 'http://a'], /--kind must be one of webhook/);
      await refused(['add', 'x', '--kind', 'dingtalk', '--url', 'http://a/robot'], /needs its signing secret/);
      await refused(['add', 'x', '--kind', 'webhook', '--url', 'http://a', '--password-env', 'EGOV_TEST_NOT_SET'], /EGOV_TEST_NOT_SET: that environment variable is not set/);
      await refused(['add', 'x', '--kind', 'webhook', '--url', 'http://a', '--password-file', path.join(dir, 'missing')], /no such file/);
      await refused(['add', 'x', '--kind', 'webhook', '--url', 'https://user:pw@hooks.city.gov.cn/x'], /no credentials in the URL/);
      await refused(['add', 'x', '--kind', 'webhook', '--url', 'http://a', '--rate', 'fast'], /--rate must be a whole number/);
      await refused(['add', 'x', '--kind', 'email', '--host', 'smtp'], /needs host, from and to/);
      await refused(['add', 'x', '--kind', 'webhook', '--url', 'http://a', '--severities', 'urgent'], /--severities: "urgent"/);
      await refused(['add', 'Bad Name', '--kind', 'webhook', '--url', 'http://a'], /receiver name/);
      // No option takes a secret on the command line.
      await refused(['add', 'x', '--kind', 'dingtalk', '--url', 'http://a', '--secret', 'SEC-in-clear'], /unknown option '--secret'/);
      await refused(['remove', 'nobody'], /no receiver named "nobody"/);
      const check = await openDatabase({ dataDir: dir });
      expect((await check.db.selectFrom('alert_receiver').select('name').execute()).map((r) => r.name).sort()).toEqual(['ding', 'hook', 'mail']);
      await check.close();

      // In the help.
      const help = await egov(['alerts', 'receivers', '--help']);
      expect(help.stdout).toMatch(/list/);
      expect(help.stdout).toMatch(/add/);
      expect(help.stdout).toMatch(/remove/);
    } finally {
      delete process.env.EGOV_TEST_DING_TOKEN;
      delete process.env.EGOV_TEST_HOOK_BEARER;
    }
  }, 120_000);
});
