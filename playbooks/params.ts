// Parameters from `--param KEY=VALUE`: each checked against its declared type
// before any step runs, with the key and the reason in the error.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { EgovError } from '../core/index.js';
import type { ParamSpecs } from './types.js';

export type ParamValue = string | number | boolean;
export const MASK = '********';

/** `KEY=VALUE` pairs into a map; a pair without `=` or a repeated key is an error. */
export function parseParamPairs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new EgovError('bad-request', `--param ${JSON.stringify(pair)}: write it KEY=VALUE`);
    const key = pair.slice(0, at);
    if (key in out) throw new EgovError('bad-request', `--param ${key} is given twice`);
    out[key] = pair.slice(at + 1);
  }
  return out;
}

/** Checks raw values against the runbook's specs: unknown keys, missing required ones, ill-typed values. */
export function validateParams(runbook: string, specs: ParamSpecs, raw: Record<string, string | ParamValue>): Record<string, ParamValue | undefined> {
  const known = Object.keys(specs);
  for (const key of Object.keys(raw)) {
    if (!(key in specs)) throw new EgovError('bad-request', `runbook ${runbook} has no parameter ${key} (it takes: ${known.join(', ') || 'none'})`);
  }
  const out: Record<string, ParamValue | undefined> = {};
  for (const [key, spec] of Object.entries(specs)) {
    let given = raw[key];
    // A secret stays off the command line: KEY=@FILE reads it from a file, or EGOV_OPS_PARAM_KEY from the environment.
    const fromEnv = process.env[`EGOV_OPS_PARAM_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`];
    if (spec.secret && (given === undefined || given === '') && fromEnv) given = fromEnv;
    if (spec.secret && typeof given === 'string' && given.startsWith('@')) {
      try {
        given = readFileSync(given.slice(1), 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        throw new EgovError('bad-request', `--param ${key}=${given}: the file cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
    }
    if (given === undefined || given === '') {
      if (spec.default !== undefined) out[key] = spec.default;
      else if (spec.required) throw new EgovError('bad-request', `runbook ${runbook} needs --param ${key}=… (${spec.description})`);
      else out[key] = undefined;
      continue;
    }
    const bad = (why: string) => new EgovError('bad-request', `--param ${key}=${spec.secret ? MASK : given}: ${why}`);
    const text = String(given);
    switch (spec.type) {
      case 'integer': {
        if (!/^-?\d+$/.test(text)) throw bad('not an integer');
        const n = Number(text);
        if (spec.min !== undefined && n < spec.min) throw bad(`at least ${spec.min}`);
        if (spec.max !== undefined && n > spec.max) throw bad(`at most ${spec.max}`);
        out[key] = n;
        break;
      }
      case 'boolean':
        if (!/^(true|false|yes|no|1|0)$/i.test(text)) throw bad('true or false');
        out[key] = /^(true|yes|1)$/i.test(text);
        break;
      case 'enum':
        if (!spec.values?.includes(text)) throw bad(`one of ${spec.values?.join(', ')}`);
        out[key] = text;
        break;
      case 'file':
        if (!existsSync(text) || !statSync(text).isFile()) throw bad('no such file');
        out[key] = text;
        break;
      case 'url':
        try {
          const url = new URL(text);
          if (!/^https?:$/.test(url.protocol)) throw new Error('scheme');
        } catch {
          throw bad('not an http(s) URL');
        }
        out[key] = text.replace(/\/+$/, '');
        break;
      default:
        if (spec.pattern && !spec.pattern.test(text)) throw bad(`does not match ${spec.pattern}`);
        out[key] = text;
    }
  }
  return out;
}

/** The values with secrets masked, for logs and output. */
export function maskParams(specs: ParamSpecs, values: Record<string, ParamValue | undefined>): Record<string, ParamValue | null> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === undefined ? null : specs[k]?.secret ? MASK : v]));
}
