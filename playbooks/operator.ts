// The suite as an operator uses it: the `egov-ops` command (the built bin),
// the HTTPS API with the operator's client certificate (mTLS; a password
// signs administrator roles in), and the other tools an operator runs
// (openssl, restic, …), all through zx. Every command and call lands in the
// run log with its exit code, trimmed output and duration.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { $ } from 'zx/core';
import { EgovError } from '../core/index.js';

export interface ApiIdentity {
  /** https://HOST:PORT of `egov-ops serve`. */
  url: string;
  certFile: string;
  keyFile: string;
  /** The CA certificate(s) that issued the server's certificate, PEM. */
  caFile: string;
  /** The operator's password (second factor for ca-admin, security-officer). */
  passwordFile?: string;
}

export interface OperatorOptions {
  /** The egov-ops bin (dist/egov-ops/main.js). */
  bin?: string;
  dataDir: string;
  configFile?: string;
  passphraseFile?: string;
  api?: ApiIdentity;
}

export interface CommandRecord {
  command: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

export interface ApiReply {
  status: number;
  text: string;
  body: Buffer;
  json<T = any>(): T;
}

/** The bin next to this bundle (dist/egov-ops/main.js), or the project's when run from compiled or source files. */
export function defaultBin(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  if (path.basename(here) === 'egov-ops') return path.join(here, 'main.js');
  return path.resolve(here, '..', ...(path.basename(path.dirname(here)) === 'dist' ? ['egov-ops'] : ['dist', 'egov-ops']), 'main.js');
}

export class Operator {
  readonly bin: string;
  private cookie: string | undefined;
  private signedIn = false;
  constructor(
    readonly options: OperatorOptions,
    private readonly record: (entry: CommandRecord) => void,
    private readonly signal?: AbortSignal,
  ) {
    this.bin = options.bin ?? defaultBin();
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  /** The same operator, for one step (its timeout's signal). */
  forStep(signal: AbortSignal): Operator {
    const step = new Operator(this.options, this.record, signal);
    step.cookie = this.cookie;
    step.signedIn = this.signedIn;
    return step;
  }

  /** The global options every egov-ops call carries. */
  globalArgs(): string[] {
    return [
      '--data-dir', this.options.dataDir,
      ...(this.options.configFile ? ['--config', this.options.configFile] : []),
      ...(this.options.passphraseFile ? ['--passphrase-file', this.options.passphraseFile] : []),
    ];
  }

  /** Runs any program; fails (with its output) on a non-zero exit unless `allowFail`. */
  async run(program: string, args: readonly string[], options: { allowFail?: boolean; env?: NodeJS.ProcessEnv; input?: string; shown?: string; cwd?: string; quietOutput?: boolean } = {}): Promise<CommandResult> {
    const started = Date.now();
    const shell = $({
      nothrow: true,
      quiet: true,
      env: { ...process.env, ...(options.env ?? {}) },
      ...(this.signal ? { signal: this.signal } : {}),
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    const out = await shell`${program} ${args}`;
    const result = { stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode };
    this.record({ command: options.shown ?? [program, ...args].join(' '), exitCode: result.exitCode, stdout: options.quietOutput ? '[output not logged: it holds a secret]' : result.stdout, stderr: result.stderr, ms: Date.now() - started });
    if (this.signal?.aborted) throw new EgovError('unavailable', `${path.basename(program)} was stopped: the step timed out`);
    if (result.exitCode !== 0 && !options.allowFail) {
      const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' / ');
      throw new EgovError('unavailable', `${options.shown ?? path.basename(program)} exited ${result.exitCode}: ${said}`, { exitCode: result.exitCode });
    }
    return result;
  }

  /** `egov-ops ARGS` as the operator types it. */
  cli(args: readonly string[], options: { allowFail?: boolean; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CommandResult> {
    return this.run(process.execPath, [this.bin, ...this.globalArgs(), ...args], { ...options, shown: `egov-ops ${args.join(' ')}` });
  }

  /** `egov-ops ARGS` against another data directory (a standby), with the same passphrase source. */
  cliAt(dataDir: string, args: readonly string[], options: { allowFail?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
    const globals = ['--data-dir', dataDir, ...(this.options.passphraseFile ? ['--passphrase-file', this.options.passphraseFile] : [])];
    return this.run(process.execPath, [this.bin, ...globals, ...args], { ...options, shown: `egov-ops --data-dir ${dataDir} ${args.join(' ')}` });
  }

  /** `egov-ops --json ARGS`, parsed. */
  async cliJson<T = any>(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<T> {
    const { stdout } = await this.cli(['--json', ...args], options);
    try {
      return JSON.parse(stdout) as T;
    } catch {
      throw new EgovError('internal', `egov-ops ${args.join(' ')} printed no JSON: ${stdout.slice(0, 200)}`);
    }
  }

  get hasApi(): boolean {
    return this.options.api !== undefined;
  }

  /** One HTTPS call with the operator's certificate; signs in first when a password is given. Fails on a non-2xx status unless `allowFail`. */
  async api(method: string, url: string, body?: unknown, options: { allowFail?: boolean } = {}): Promise<ApiReply> {
    const identity = this.options.api;
    if (!identity) throw new EgovError('bad-request', 'this step calls the API: give the operator\'s certificate with --api URL --cert FILE --key FILE --api-ca FILE (or EGOV_OPS_API_URL, EGOV_OPS_CLIENT_CERT, EGOV_OPS_CLIENT_KEY, EGOV_OPS_API_CA)');
    if (identity.passwordFile && !this.signedIn && url !== '/api/access/sign-in') {
      this.signedIn = true;
      const password = readFileSync(identity.passwordFile, 'utf8').replace(/\r?\n$/, '');
      await this.api('POST', '/api/access/sign-in', { password });
    }
    const started = Date.now();
    const reply = await this.request(identity, method, url, body);
    const cookie = /egov_session=([^;]*)/.exec([reply.headers['set-cookie'] ?? []].flat().join('\n'))?.[1];
    if (cookie) this.cookie = cookie;
    const shownBody = url === '/api/access/sign-in' ? '{"password":"********"}' : body === undefined ? '' : ` ${JSON.stringify(body)}`;
    this.record({ command: `${method} ${url}${url === '/api/access/sign-in' ? ' ' + shownBody : shownBody}`, exitCode: reply.status, stdout: /json|^text/.test(String(reply.headers['content-type'] ?? '')) ? reply.text : `[${reply.body.length} bytes]`, stderr: '', ms: Date.now() - started });
    if ((reply.status < 200 || reply.status >= 300) && !options.allowFail) {
      let message = reply.text.slice(0, 300);
      try {
        message = JSON.parse(reply.text).message ?? message;
      } catch {
        /* not JSON */
      }
      throw new EgovError(reply.status === 404 ? 'not-found' : reply.status === 409 ? 'conflict' : reply.status === 401 || reply.status === 403 ? 'forbidden' : 'unavailable', `${method} ${url}: HTTP ${reply.status}: ${message}`);
    }
    return reply;
  }

  private request(identity: ApiIdentity, method: string, url: string, body: unknown): Promise<ApiReply & { headers: Record<string, string | string[] | undefined> }> {
    const headers: Record<string, string> = {};
    let payload: Buffer | undefined;
    if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body));
      headers['content-type'] = 'application/json';
    }
    if (this.cookie) headers.cookie = `egov_session=${this.cookie}`;
    return new Promise((resolve, reject) => {
      const request = https.request(
        identity.url + url,
        { method, headers, ca: readFileSync(identity.caFile), cert: readFileSync(identity.certFile), key: readFileSync(identity.keyFile), agent: false, servername: 'localhost', ...(this.signal ? { signal: this.signal } : {}) },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => {
            const buffer = Buffer.concat(chunks);
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body: buffer, text: buffer.toString('utf8'), json: () => JSON.parse(buffer.toString('utf8')) });
          });
        },
      );
      request.on('error', (error) => reject(new EgovError('unavailable', `${method} ${identity.url}${url}: ${error.message}`)));
      request.end(payload);
    });
  }

  /** A plain HTTP GET (public routes: CRLs, CA certificates). */
  async fetchPublic(url: string): Promise<Buffer> {
    const started = Date.now();
    let status = 0;
    try {
      const response = await fetch(url, this.signal ? { signal: this.signal } : {});
      status = response.status;
      const body = Buffer.from(await response.arrayBuffer());
      this.record({ command: `GET ${url}`, exitCode: status, stdout: `[${body.length} bytes]`, stderr: '', ms: Date.now() - started });
      if (!response.ok) throw new EgovError('unavailable', `GET ${url}: HTTP ${status}`);
      return body;
    } catch (error) {
      if (error instanceof EgovError) throw error;
      this.record({ command: `GET ${url}`, exitCode: null, stdout: '', stderr: (error as Error).message, ms: Date.now() - started });
      throw new EgovError('unavailable', `GET ${url}: ${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause?: Error }).cause!.message})` : ''}`);
    }
  }
}
