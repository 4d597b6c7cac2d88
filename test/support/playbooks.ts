// A served suite (as `egov-ops serve` serves it) with two operators who hold
// certificates, passwords and the roles runbooks need, and a way to run
// `egov-ops playbook …` as each of them: the built bin in a child process,
// with the operator's certificate for the HTTPS API. No vitest import.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_PASSWORD, startDeskSuite, type DeskSuite, type Person } from './desk.js';

export const BIN = path.resolve('dist/egov-ops/main.js');

export interface Operator {
  person: Person;
  /** --api … --cert … --key … --api-ca … --password-file … */
  apiArgs: string[];
}

export interface PlaybookSuite {
  desk: DeskSuite;
  alice: Operator;
  bob: Operator;
  passphraseFile: string;
  /** `egov-ops --data-dir D --passphrase-file F ARGS` (async: the suite serves in this process). */
  cli(args: string[], options?: { env?: NodeJS.ProcessEnv; input?: string }): Promise<{ code: number; stdout: string; stderr: string; json<T = any>(): T }>;
  close(): Promise<void>;
}

export function runBin(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string; json<T = any>(): T }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, EGOV_OPS_CA_PASSPHRASE: '', ...(options.env ?? {}) } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, json: () => JSON.parse(stdout) }));
    child.stdin.end(options.input ?? '');
  });
}

export async function startPlaybookSuite(extraConfig = ''): Promise<PlaybookSuite> {
  const desk = await startDeskSuite(extraConfig);
  const passphraseFile = path.join(desk.dir, 'passphrase');
  const caFile = path.join(desk.dir, 'api-ca.pem');
  writeFileSync(caFile, desk.caPem);
  const operator = async (name: string): Promise<Operator> => {
    const person = await desk.person(name, ['ca-admin', 'network-admin', 'security-officer'], { password: ADMIN_PASSWORD });
    const cert = path.join(desk.dir, `${name}.crt`);
    const key = path.join(desk.dir, `${name}.key`);
    const password = path.join(desk.dir, `${name}.password`);
    writeFileSync(cert, person.certPem);
    writeFileSync(key, person.keyPem, { mode: 0o600 });
    writeFileSync(password, ADMIN_PASSWORD, { mode: 0o600 });
    return { person, apiArgs: ['--api', desk.secureBase, '--cert', cert, '--key', key, '--api-ca', caFile, '--password-file', password] };
  };
  const alice = await operator('Alice Operator');
  const bob = await operator('Bob Operator');
  return {
    desk,
    alice,
    bob,
    passphraseFile,
    cli: (args, options) => runBin(['--data-dir', desk.dir, '--passphrase-file', passphraseFile, ...args], options),
    close: () => desk.close(),
  };
}
