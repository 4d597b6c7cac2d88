// What every command needs: the configuration, the database, the CA key
// passphrase (asked for only when a key is opened), and the Authority.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Actor, Authority, CrlService, OcspResponder, PassphraseSource, RegistrationDesk } from '../ca/index.js';
import { AccessControl, EgovError, loadConfig, openDatabase, openSecretBox, type Config, type Database } from '../core/index.js';

export interface GlobalOptions {
  dataDir?: string;
  config?: string;
  passphraseFile?: string;
  json?: boolean;
}

export function resolveConfig(options: GlobalOptions, flags: Record<string, unknown> = {}): Config {
  return loadConfig({
    ...(options.config ? { file: options.config } : {}),
    flags: { ...(options.dataDir ? { dataDir: options.dataDir } : {}), ...flags },
  });
}

async function promptHidden(question: string): Promise<string> {
  const { stdin, stderr } = process;
  stderr.write(question);
  stdin.setRawMode?.(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let answer = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.off('data', onData);
          stdin.setRawMode?.(false);
          stdin.pause();
          stderr.write('\n');
          return resolve(answer);
        }
        if (ch === '\u0003') {
          stdin.setRawMode?.(false);
          return reject(new EgovError('bad-request', 'passphrase prompt interrupted'));
        }
        if (ch === '\u007f') answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** --passphrase-file FILE, else EGOV_OPS_CA_PASSPHRASE, else a prompt on a terminal, else a clear error. */
export function passphraseSource(options: GlobalOptions, confirm = false): PassphraseSource {
  let cached: Promise<string> | undefined;
  const resolve = async (): Promise<string> => {
    if (options.passphraseFile) {
      try {
        return readFileSync(options.passphraseFile, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        throw new EgovError('bad-request', `passphrase file ${options.passphraseFile} cannot be read: ${(error as Error).message}`);
      }
    }
    const fromEnv = process.env.EGOV_OPS_CA_PASSPHRASE;
    if (fromEnv) return fromEnv;
    if (process.stdin.isTTY && process.stderr.isTTY) {
      const first = await promptHidden('CA key passphrase: ');
      if (confirm && (await promptHidden('Repeat the passphrase: ')) !== first) throw new EgovError('bad-request', 'the two passphrases differ');
      return first;
    }
    throw new EgovError('bad-request', 'the CA key passphrase is needed: give --passphrase-file FILE or set EGOV_OPS_CA_PASSPHRASE (no terminal to prompt on)');
  };
  return () => (cached ??= resolve());
}

export function cliActor(): Actor {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry: keep unknown */
  }
  return { actor: `cli:${user}`, source: 'cli' };
}

export interface Suite {
  config: Config;
  database: Database;
  authority: Authority;
  crls: CrlService;
  ocsp: OcspResponder;
  access: AccessControl;
  desk: RegistrationDesk;
  close(): Promise<void>;
}

export async function openSuite(options: GlobalOptions, confirmPassphrase = false, flags: Record<string, unknown> = {}): Promise<Suite> {
  // The CA is loaded by the commands that open the suite, not by every command (backup, monitor, snmp start without it).
  const { Authority, certificateDirectory, CrlService, loadProfiles, OcspResponder, RegistrationDesk } = await import('../ca/index.js');
  const config = resolveConfig(options, flags);
  const database = await openDatabase({ dataDir: config.dataDir, url: config.database.url });
  const profiles = config.ca.profilesFile ? loadProfiles(path.resolve(config.ca.profilesFile)) : undefined;
  const authority = new Authority({
    database,
    publicUrl: config.server.publicUrl,
    passphrase: passphraseSource(options, confirmPassphrase),
    ocspSigner: config.ca.ocspSigner,
    ...(profiles ? { profiles } : {}),
  });
  const crls = new CrlService(authority, {
    validityHours: config.ca.crlValidityHours,
    intervalSeconds: config.ca.crlIntervalSeconds,
    afterChangeSeconds: config.ca.crlAfterRevokeSeconds,
  });
  const ocsp = new OcspResponder(authority, { validitySeconds: config.ca.ocspValiditySeconds });
  const access = new AccessControl({ database, directory: certificateDirectory(authority), settings: config.access });
  const desk = new RegistrationDesk({ database, authority, secrets: openSecretBox(config.dataDir), fourEyes: config.ra.fourEyes });
  return {
    config,
    database,
    authority,
    crls,
    ocsp,
    access,
    desk,
    close: async () => {
      crls.stop();
      await database.close();
    },
  };
}

/** `out(data, human)`: JSON with --json, else the human text; one place for every command group. */
export function outputFor(program: Command): (data: unknown, human: () => string) => void {
  return (data, human) => {
    const text = program.opts<GlobalOptions>().json ? JSON.stringify(data, null, 2) : human();
    process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  };
}

/** Runs `work` with the suite open, closing it whatever happens. */
export async function withOpenSuite<T>(options: GlobalOptions, work: (suite: Suite) => Promise<T>, confirmPassphrase = false): Promise<T> {
  const suite = await openSuite(options, confirmPassphrase);
  try {
    return await work(suite);
  } finally {
    await suite.close();
  }
}
