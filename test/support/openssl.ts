// The real openssl CLI, as the CA tests call it: C locale, big outputs allowed.

import { spawnSync } from 'node:child_process';
import type { KeyAlgorithm } from '../../ca/index.js';

export interface OpensslRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr, for matching messages wherever openssl printed them. */
  output: string;
}

export function openssl(...args: string[]): OpensslRun {
  const result = spawnSync('openssl', args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, output: result.stdout + result.stderr };
}

/** Runs openssl and fails the test with its output unless it exits 0. */
export function opensslOk(...args: string[]): string {
  const result = openssl(...args);
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${result.status}:\n${result.output}`);
  return result.output;
}

/** `openssl genpkey` arguments for each key a test may ask for (RSA-1024 to be refused). */
export const GENPKEY_ARGS: Record<KeyAlgorithm | 'rsa-1024', string[]> = {
  'rsa-1024': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'],
  'rsa-2048': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  'rsa-3072': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'],
  'rsa-4096': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:4096'],
  'ecdsa-p256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'ecdsa-p384': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ed25519: ['-algorithm', 'ED25519'],
  sm2: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2'],
};
