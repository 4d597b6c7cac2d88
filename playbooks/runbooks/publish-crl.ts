// publish-crl: build a full and a delta CRL of a hierarchy now, check their
// nextUpdate leaves enough time, fetch both back from the public URL, and
// verify them against the CA chain with openssl.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { EgovError } from '../../core/index.js';
import type { Operator } from '../operator.js';
import { defineRunbook } from '../types.js';

interface Built {
  number: number;
  nextUpdate: string;
  entries: number;
}

/** Through the API when the operator has a certificate: the serving suite then publishes the new CRL at once (a CRL built by another process is served once the served one is due). */
async function buildCrl(operator: Operator, ca: string, kind: 'full' | 'delta', workDir: string): Promise<Built> {
  const built = operator.hasApi
    ? (await operator.api('POST', `/api/ca/${ca}/crl`, { kind })).json()
    : await operator.cliJson(['ca', 'crl', '--ca', ca, ...(kind === 'delta' ? ['--delta'] : []), '--der', '--out', path.join(workDir, `${kind}.crl`)]);
  return { number: Number(built.number), nextUpdate: new Date(built.nextUpdate).toISOString(), entries: Number(built.entries) };
}

const crlNumber = (text: string) => /crlNumber=(?:0x)?([0-9A-Fa-f]+)/.exec(text.replace(/\s+/g, ''))?.[1];

export const publishCrl = defineRunbook({
  name: 'publish-crl',
  title: 'Publish CRLs',
  description: 'Build full and delta CRLs now, check nextUpdate, fetch them back from the public URL, verify them with openssl.',
  params: {
    ca: { type: 'string', required: true, pattern: /^[a-z0-9][a-z0-9-]{0,62}$/, description: 'the hierarchy' },
    publicUrl: { type: 'url', required: true, description: 'where relying parties fetch CRLs (the plain HTTP listener), e.g. http://ca.city.gov.cn' },
    minHours: { type: 'integer', default: 12, min: 1, max: 24 * 30, description: 'nextUpdate must be at least this many hours away' },
  },
  steps: [
    {
      name: 'check-ca',
      description: 'the hierarchy exists and its chain can be read',
      changes: false,
      run: async ({ operator, params, workDir }) => {
        const { stdout } = await operator.cli(['ca', 'chain', '--ca', params.ca]);
        const file = path.join(workDir, 'chain.pem');
        writeFileSync(file, stdout);
        return { chain: file };
      },
    },
    {
      name: 'build-full',
      description: 'build and sign a full CRL on the serving suite (POST /api/ca/NAME/crl), or with `egov-ops ca crl` without an API identity',
      changes: true,
      dryRun: ({ params, operator }) => (operator.hasApi ? `POST /api/ca/${params.ca}/crl {"kind":"full"}` : `egov-ops ca crl --ca ${params.ca} --der --out WORK/full.crl`),
      timeoutMs: 60_000,
      run: ({ operator, params, workDir }) => buildCrl(operator, params.ca, 'full', workDir),
    },
    {
      name: 'build-delta',
      description: 'build and sign a delta CRL against the new full CRL',
      changes: true,
      dryRun: ({ params, operator }) => (operator.hasApi ? `POST /api/ca/${params.ca}/crl {"kind":"delta"}` : `egov-ops ca crl --ca ${params.ca} --delta --der --out WORK/delta.crl`),
      timeoutMs: 60_000,
      run: ({ operator, params, workDir }) => buildCrl(operator, params.ca, 'delta', workDir),
    },
    {
      name: 'check-next-update',
      description: 'nextUpdate of both CRLs is far enough away',
      changes: false,
      run: async ({ params, results, note }) => {
        const out: Record<string, string> = {};
        for (const kind of ['build-full', 'build-delta'] as const) {
          const built = results[kind] as Built;
          const next = new Date(built.nextUpdate);
          const hours = (next.getTime() - Date.now()) / 3_600_000;
          if (!(hours >= params.minHours)) throw new EgovError('policy-violation', `${kind === 'build-full' ? 'full' : 'delta'} CRL nextUpdate ${next.toISOString()} is ${hours.toFixed(1)} h away, less than ${params.minHours} h`);
          note(`${kind === 'build-full' ? 'full' : 'delta'} CRL number ${built.number}: nextUpdate ${next.toISOString()} (${hours.toFixed(1)} h)`);
          out[kind] = next.toISOString();
        }
        return out;
      },
    },
    {
      name: 'fetch-public',
      description: 'fetch both CRLs back from the public URL; they carry the numbers just built',
      changes: false,
      retries: 3,
      retryDelayMs: 2000,
      run: async ({ operator, params, results, workDir }) => {
        const fetched: Record<string, string> = {};
        for (const [kind, suffix] of [['build-full', ''], ['build-delta', '-delta']] as const) {
          const url = `${params.publicUrl}/crl/${params.ca}${suffix}.crl`;
          const body = await operator.fetchPublic(url);
          const file = path.join(workDir, `public${suffix || '-full'}.crl`);
          writeFileSync(file, body);
          const { stdout } = await operator.run('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-crlnumber']);
          const number = crlNumber(stdout);
          const built = results[kind] as Built;
          if (!number || BigInt('0x' + number) < BigInt(built.number)) throw new EgovError('unavailable', `${url} serves CRL number ${number ? BigInt('0x' + number) : '?'}, not yet ${built.number} (a CRL built outside the serving suite is published when the served one is due; build through the API to publish at once)`);
          fetched[kind] = file;
        }
        return fetched;
      },
    },
    {
      name: 'verify',
      description: 'openssl verifies the signature of both fetched CRLs against the CA chain',
      changes: false,
      run: async ({ operator, results }) => {
        const { chain } = results['check-ca'] as { chain: string };
        const fetched = results['fetch-public'] as Record<string, string>;
        for (const file of Object.values(fetched)) {
          const { stderr, stdout } = await operator.run('openssl', ['crl', '-inform', 'DER', '-in', file, '-CAfile', chain, '-noout']);
          if (!/verify OK/.test(stderr + stdout)) throw new EgovError('bad-signature', `openssl did not verify ${path.basename(file)}: ${stderr.trim()}`);
        }
        return { verified: Object.keys(fetched).length };
      },
    },
  ],
});
