// Fuzzing helpers for the property tests of every parser of untrusted input
// (test/fuzz-*.test.ts) and the long campaign (`npm run fuzz`, which runs the
// same files with EGOV_FUZZ_RUNS raised and a report file).
//
// Inputs are random bytes and mutations of valid samples: bit flips, byte
// edits, insertions and deletions, truncations, splices of two samples, and
// edits of DER length fields (a header found by walking the sample's TLVs).
// The contract checked for each input: the parser returns, or throws an
// EgovError; anything else escaping (TypeError, RangeError, a YAML library's
// error) fails the run with the input that caused it, shrunk by fast-check.
// Each input must also be handled in bounded time (HANG_MS, a hang detector
// far above any normal time, not a benchmark).

import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import { EgovError } from '../../core/errors.js';

/** Fixed unless the campaign picks one (it prints it, so a finding can be replayed). */
export const FUZZ_SEED = process.env.EGOV_FUZZ_SEED ? Number(process.env.EGOV_FUZZ_SEED) : 20_261_207;
/** An input taking longer than this is a hang, not a slow machine. */
export const HANG_MS = 5_000;

/** Runs per property: `short` inside npm test, EGOV_FUZZ_RUNS (times `weight`) in the campaign. */
export function fuzzRuns(short: number, weight = 1): number {
  const campaign = process.env.EGOV_FUZZ_RUNS ? Number(process.env.EGOV_FUZZ_RUNS) : 0;
  return campaign > 0 ? Math.max(1, Math.round(campaign * weight)) : short;
}

/** Random bytes up to maxLength. */
export const randomBytes = (maxLength = 1024): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((bytes) => Buffer.from(bytes));

/** Offsets of the TLV headers of a DER buffer (best effort: stops where the structure stops making sense). */
export function derHeaders(bytes: Buffer): Array<{ offset: number; lengthOffset: number; lengthBytes: number }> {
  const found: Array<{ offset: number; lengthOffset: number; lengthBytes: number }> = [];
  const walk = (start: number, end: number, depth: number) => {
    let at = start;
    while (at + 2 <= end && found.length < 512 && depth < 32) {
      const tag = bytes[at]!;
      let length = bytes[at + 1]!;
      let lengthBytes = 1;
      if (length & 0x80) {
        const count = length & 0x7f;
        if (count === 0 || count > 4 || at + 2 + count > end) return;
        length = 0;
        for (let i = 0; i < count; i++) length = length * 256 + bytes[at + 2 + i]!;
        lengthBytes = 1 + count;
      }
      const contentStart = at + 1 + lengthBytes;
      if (contentStart + length > end) return;
      found.push({ offset: at, lengthOffset: at + 1, lengthBytes });
      // Constructed, and OCTET/BIT STRINGs that often wrap DER (extensions, keys).
      if (tag & 0x20 || tag === 0x04) walk(contentStart, contentStart + length, depth + 1);
      else if (tag === 0x03 && length > 1) walk(contentStart + 1, contentStart + length, depth + 1);
      at = contentStart + length;
    }
  };
  walk(0, bytes.length, 0);
  return found;
}

/** A DER buffer as a tree (constructed elements keep their children), for edits that keep every other length right. */
interface DerTree {
  tag: number;
  children?: DerTree[];
  content: Buffer;
}

function parseDerTree(bytes: Buffer, depth = 0): DerTree[] | null {
  const out: DerTree[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) return null;
    const tag = bytes[at]!;
    let length = bytes[at + 1]!;
    let header = 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4 || at + 2 + count > bytes.length) return null;
      length = bytes.readUIntBE(at + 2, count);
      header += count;
    }
    if (at + header + length > bytes.length) return null;
    const content = bytes.subarray(at + header, at + header + length);
    const children = tag & 0x20 && depth < 24 ? parseDerTree(content, depth + 1) : null;
    out.push(children ? { tag, children, content } : { tag, content });
    at += header + length;
  }
  return out;
}

function encodeDerTree(nodes: DerTree[]): Buffer {
  return Buffer.concat(
    nodes.map((node) => {
      const content = node.children ? encodeDerTree(node.children) : node.content;
      const n = content.length;
      const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
      return Buffer.concat([Buffer.from([node.tag]), length, content]);
    }),
  );
}

/** Every node of a tree with the list holding it. */
function derNodes(nodes: DerTree[], into: Array<{ list: DerTree[]; index: number }> = []): Array<{ list: DerTree[]; index: number }> {
  nodes.forEach((node, index) => {
    into.push({ list: nodes, index });
    if (node.children) derNodes(node.children, into);
  });
  return into;
}

type Mutation = (sample: Buffer, other: Buffer, r: number[]) => Buffer;

// r: random non-negative integers (fast-check's doubles cluster at 0 and 1, which would pick the ends only).
const pick = (r: number, n: number) => (n <= 0 ? 0 : r % n);

const MUTATIONS: Record<string, Mutation> = {
  bitFlips(sample, _o, r) {
    const out = Buffer.from(sample);
    if (!out.length) return out;
    const flips = 1 + pick(r[0]!, 8);
    for (let i = 0; i < flips; i++) {
      const at = pick(r[(i + 1) % r.length]! * (i + 3) + i, out.length);
      out[at] = out[at]! ^ (1 << pick(r[(i + 2) % r.length]! + i, 8));
    }
    return out;
  },
  byteEdit(sample, _o, r) {
    const out = Buffer.from(sample);
    if (!out.length) return out;
    const special = [0x00, 0xff, 0x7f, 0x80, 0x30, 0x0a, 0x20, 0x3c];
    out[pick(r[0]!, out.length)] = special[pick(r[1]!, special.length)]!;
    return out;
  },
  truncate(sample, _o, r) {
    return sample.subarray(0, pick(r[0]!, sample.length + 1));
  },
  dropHead(sample, _o, r) {
    return sample.subarray(pick(r[0]!, sample.length + 1));
  },
  insert(sample, _o, r) {
    const at = pick(r[0]!, sample.length + 1);
    const junk = Buffer.alloc(1 + pick(r[1]!, 64), pick(r[2]!, 256));
    return Buffer.concat([sample.subarray(0, at), junk, sample.subarray(at)]);
  },
  remove(sample, _o, r) {
    const at = pick(r[0]!, sample.length);
    return Buffer.concat([sample.subarray(0, at), sample.subarray(at + 1 + pick(r[1]!, 16))]);
  },
  splice(sample, other, r) {
    return Buffer.concat([sample.subarray(0, pick(r[0]!, sample.length + 1)), other.subarray(pick(r[1]!, other.length + 1))]);
  },
  repeat(sample, _o, r) {
    const at = pick(r[0]!, sample.length);
    const piece = sample.subarray(at, at + 1 + pick(r[1]!, 32));
    return Buffer.concat([sample.subarray(0, at), ...Array.from({ length: 2 + pick(r[2]!, 50) }, () => piece), sample.subarray(at)]);
  },
  /** One element of the structure dropped, emptied, doubled, retagged or swapped with its sibling, the lengths around it kept right. */
  derStructure(sample, _o, r) {
    const tree = parseDerTree(sample);
    if (!tree || tree.length === 0) return MUTATIONS.derLength!(sample, sample, r);
    const nodes = derNodes(tree);
    const { list, index } = nodes[pick(r[0]!, nodes.length)]!;
    const node = list[index]!;
    switch (pick(r[1]!, 6)) {
      case 0: list.splice(index, 1); break;
      case 1: list[index] = { tag: node.tag, content: Buffer.alloc(0), ...(node.children ? { children: [] } : {}) }; break;
      case 2: list.splice(index, 0, node, node); break;
      case 3: list[index] = { ...node, tag: [0x02, 0x04, 0x05, 0x06, 0x30, 0x31, 0x03, 0x0c, 0x17, 0x18, 0xa0, 0xa3, 0x80][pick(r[2]!, 13)]! }; break;
      case 4: if (index + 1 < list.length) [list[index], list[index + 1]] = [list[index + 1]!, node]; break;
      case 5: list.splice(index, 0, ...Array.from({ length: 1 + pick(r[2]!, 300) }, () => node)); break;
    }
    return encodeDerTree(tree);
  },
  /** A DER length field set to 0, its neighbours, a huge or indefinite length, or a long form with too many bytes. */
  derLength(sample, _o, r) {
    const headers = derHeaders(sample);
    if (!headers.length) return MUTATIONS.bitFlips!(sample, sample, r);
    const header = headers[pick(r[0]!, headers.length)]!;
    const before = sample.subarray(0, header.lengthOffset);
    const after = sample.subarray(header.lengthOffset + header.lengthBytes);
    const current = header.lengthBytes === 1 ? sample[header.lengthOffset]! : sample.readUIntBE(header.lengthOffset + 1, header.lengthBytes - 1);
    const choices: Buffer[] = [
      Buffer.from([0x00]),
      Buffer.from([Math.max(0, Math.min(0x7f, current - 1))]),
      Buffer.from([Math.min(0x7f, current + 1)]),
      Buffer.from([0x80]), // indefinite
      Buffer.from([0x84, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0x85, 0x01, 0x00, 0x00, 0x00, 0x00]),
      Buffer.from([0x82, (current + 1) >> 8, (current + 1) & 0xff]),
      Buffer.from([0x81, Math.min(255, current + 7)]),
      Buffer.from([0xff]),
    ];
    return Buffer.concat([before, choices[pick(r[1]!, choices.length)]!, after]);
  },
};

export const MUTATION_NAMES = Object.keys(MUTATIONS);

/** A valid sample, mutated once to five times. */
export function mutationOf(samples: readonly Buffer[]): fc.Arbitrary<Buffer> {
  if (!samples.length) throw new Error('mutationOf needs samples');
  const step = fc.record({ name: fc.noBias(fc.constantFrom(...MUTATION_NAMES)), other: fc.nat(samples.length - 1), r: fc.array(fc.noBias(fc.nat()), { minLength: 3, maxLength: 3 }) });
  return fc.record({ sample: fc.nat(samples.length - 1), steps: fc.array(step, { minLength: 1, maxLength: 5 }) }).map(({ sample, steps }) =>
    steps.reduce((bytes, s) => MUTATIONS[s.name]!(bytes, samples[s.other]!, s.r), samples[sample]!),
  );
}

/** What a parser gets: random bytes one time in four, a mutated sample otherwise, now and then the sample itself. */
export function untrustedBytes(samples: readonly Buffer[], maxRandom = 1024): fc.Arbitrary<Buffer> {
  return fc.oneof({ arbitrary: randomBytes(maxRandom), weight: 1 }, { arbitrary: mutationOf(samples), weight: 3 }, { arbitrary: fc.constantFrom(...samples), weight: 1 });
}

export interface FuzzTally {
  parser: string;
  tried: number;
  accepted: number;
  refused: number;
  /** Refusals by EgovError code. */
  byCode: Record<string, number>;
  slowestMs: number;
  /** What escaped other than EgovError, or a hang (the run fails on the first; the campaign reports it). */
  findings: string[];
}

/**
 * Checks that `parse` returns or throws an EgovError for every input, in
 * bounded time; `check` may assert more about what was returned. Returns the
 * tally (also appended to EGOV_FUZZ_REPORT as a JSON line).
 */
export async function fuzzParser<T>(
  parser: string,
  inputs: fc.Arbitrary<T>,
  parse: (input: T) => unknown,
  options: { runs: number; check?: (result: any, input: T) => void },
): Promise<FuzzTally> {
  const tally: FuzzTally = { parser, tried: 0, accepted: 0, refused: 0, byCode: {}, slowestMs: 0, findings: [] };
  let failure: unknown;
  let failing: { input: T; error: unknown } | undefined;
  try {
    await fc.assert(
      fc.asyncProperty(inputs, async (input) => {
        try {
          await once(input);
        } catch (error) {
          failing = { input, error };
          throw error;
        }
      }),
      { seed: FUZZ_SEED, numRuns: options.runs, endOnFailure: true },
    );
  } catch (error) {
    const cause = failing ? (failing.error as Error) : (error as Error);
    failure = new Error(`${parser}: ${cause?.name ?? 'Error'}: ${String(cause?.message ?? cause).split('\n')[0]} on ${describeInput(failing?.input)} (seed ${FUZZ_SEED}, run ${tally.tried})`, { cause });
    tally.findings.push((failure as Error).message.slice(0, 600));
  }
  tally.slowestMs = Math.round(tally.slowestMs * 10) / 10;
  reportTally(tally);
  if (failure) throw failure;
  return tally;

  async function once(input: T): Promise<void> {
        tally.tried++;
        const started = performance.now();
        let result: unknown;
        let refused = false;
        try {
          result = await parse(input);
        } catch (error) {
          if (!(error instanceof EgovError)) throw error;
          refused = true;
          tally.byCode[error.code] = (tally.byCode[error.code] ?? 0) + 1;
        }
        const ms = performance.now() - started;
        tally.slowestMs = Math.max(tally.slowestMs, ms);
        if (ms > HANG_MS) throw new Error(`${parser}: one input took ${Math.round(ms)} ms`);
        if (refused) tally.refused++;
        else {
          tally.accepted++;
          options.check?.(result, input);
        }
  }
}

/** An input, short enough for a report line: its size and first bytes. */
export function describeInput(input: unknown): string {
  const show = (b: Buffer) => `${b.length} bytes ${b.subarray(0, 48).toString('hex')}${b.length > 48 ? '…' : ''}`;
  if (Buffer.isBuffer(input)) return show(input);
  if (typeof input === 'string') return `${input.length} chars ${JSON.stringify(input.slice(0, 80))}${input.length > 80 ? '…' : ''}`;
  const text = JSON.stringify(input, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? show(Buffer.from(v.data)) : v));
  return text === undefined ? String(input) : text.length > 300 ? text.slice(0, 300) + '…' : text;
}

/** Appends a tally to the campaign's report (EGOV_FUZZ_REPORT), for tests that count inputs themselves. */
export function reportTally(tally: FuzzTally): void {
  if (process.env.EGOV_FUZZ_REPORT) appendFileSync(process.env.EGOV_FUZZ_REPORT, JSON.stringify({ ...tally, seed: FUZZ_SEED }) + '\n');
}
