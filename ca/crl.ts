// CRLs (RFC 5280 section 5): full and delta, numbered from one sequence per
// CA. A revoke never builds a CRL itself: the CRL service builds a delta
// soon after (debounced) and a full CRL on its schedule, so a revoke stays
// a single-row update however many entries the CRL holds.

import { EgovError, appendAudit, type Database, type Job } from '../core/index.js';
import * as der from './asn1/der.js';
import type { Authority, SigningContext } from './authority.js';
import { extension } from './certificate.js';
import { OID } from './oids.js';
import { REVOCATION_REASONS } from './revocation.js';
import { currentStatusSeq } from './store.js';

export type CrlKind = 'full' | 'delta';

export interface CrlEntry {
  serial: string;
  revokedAt: string;
  reason: number | null;
}

export interface BuiltCrl {
  ca: string;
  kind: CrlKind;
  number: number;
  baseNumber?: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: number;
  der: Buffer;
}

// Each entry: SEQUENCE { serial, revocationDate, [reasonCode extension] }.
// Written straight into one buffer: 1,000,000 entries in about a second.
/** Where each UTCTime character comes from in a canonical ISO time (`2026-12-05T13:57:00.000Z`). */
const UTC_TIME_FROM_ISO = [2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
const CANONICAL_ISO = /^(19[5-9]\d|20[0-4]\d)-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * The revokedCertificates SEQUENCE, written straight into one buffer: a CRL
 * of a million entries is about 42 MB, and a buffer or two per entry (then a
 * concat) cost more than the encoding. A revocation time we stored
 * (canonical ISO, 1950-2049) is copied into its UTCTime character by
 * character; any other goes through der.time.
 */
function encodeEntries(entries: readonly CrlEntry[]): Buffer {
  const reasonCache = new Map<number, Buffer>();
  const reasonExtension = (code: number) => der.sequence(der.sequence(der.oid(OID.crlReason), der.octetString(der.enumerated(code))));
  const serial = Buffer.allocUnsafe(64);
  let out = Buffer.allocUnsafe(Math.max(256, entries.length * 44));
  let at = 0;
  for (const entry of entries) {
    // INTEGER: the serial's magnitude, minimal, with a 0x00 in front when its top bit is set.
    let end = serial.write(entry.serial, 0, 'hex');
    if (end === 0) serial[end++] = 0;
    let start = 0;
    while (start < end - 1 && serial[start] === 0) start++;
    const pad = serial[start]! & 0x80 ? 1 : 0;
    const integerLength = end - start + pad;
    const canonicalTime = CANONICAL_ISO.test(entry.revokedAt);
    const time = canonicalTime ? undefined : der.time(new Date(entry.revokedAt));
    const timeLength = time ? time.length : 15;
    let reason: Buffer | undefined;
    if (entry.reason !== null && entry.reason !== REVOCATION_REASONS.unspecified) {
      reason = reasonCache.get(entry.reason);
      if (!reason) reasonCache.set(entry.reason, (reason = reasonExtension(entry.reason)));
    }
    const length = 2 + integerLength + timeLength + (reason?.length ?? 0);
    if (at + length + 3 > out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, at + length + 3));
      out.copy(bigger, 0, 0, at);
      out = bigger;
    }
    out[at++] = der.Tag.SEQUENCE;
    if (length >= 0x80) out[at++] = 0x81;
    out[at++] = length;
    out[at++] = der.Tag.INTEGER;
    out[at++] = integerLength;
    if (pad) out[at++] = 0;
    at += serial.copy(out, at, start, end);
    if (time) {
      at += time.copy(out, at);
    } else {
      out[at++] = der.Tag.UTC_TIME;
      out[at++] = 13;
      for (const index of UTC_TIME_FROM_ISO) out[at++] = entry.revokedAt.charCodeAt(index);
      out[at++] = 0x5a; // Z
    }
    if (reason) at += reason.copy(out, at);
  }
  return der.tlv(der.Tag.SEQUENCE, out.subarray(0, at));
}

export function encodeCrl(
  context: Pick<SigningContext, 'issuing' | 'issuingKeyId' | 'signer' | 'urls'>,
  crl: { kind: CrlKind; number: number; baseNumber?: number; thisUpdate: Date; nextUpdate: Date; entries: readonly CrlEntry[] },
): Buffer {
  const extensions = [
    extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicitPrimitive(0, context.issuingKeyId))),
    extension(OID.crlNumber, false, der.integer(crl.number)),
  ];
  if (crl.kind === 'delta') extensions.push(extension(OID.deltaCrlIndicator, true, der.integer(crl.baseNumber!)));
  else if (context.urls.deltaCrl) {
    extensions.push(extension(OID.freshestCrl, false, der.sequence(der.sequence(der.explicit(0, der.implicitConstructed(0, der.implicitPrimitive(6, Buffer.from(context.urls.deltaCrl, 'latin1'))))))));
  }
  return der.sequence(
    der.integer(1), // v2
    context.signer.algorithmIdentifier,
    context.issuing.subjectName,
    der.time(crl.thisUpdate),
    der.time(crl.nextUpdate),
    ...(crl.entries.length ? [encodeEntries(crl.entries)] : []),
    der.explicit(0, der.sequence(...extensions)),
  );
}

export interface CrlServiceOptions {
  validityHours: number;
  /** Rebuild the full CRL this often. */
  intervalSeconds: number;
  /** After a status change, build a delta this soon (debounced). */
  afterChangeSeconds: number;
  now?: () => Date;
  onError?: (error: unknown) => void;
}

export class CrlService {
  private readonly latest = new Map<string, BuiltCrl>();
  private readonly pendingDelta = new Map<string, NodeJS.Timeout>();
  private readonly building = new Map<string, Promise<BuiltCrl>>();
  private schedule?: NodeJS.Timeout;
  private readonly database: Database;
  private readonly now: () => Date;

  constructor(
    private readonly authority: Authority,
    private readonly options: CrlServiceOptions,
  ) {
    this.database = authority.database;
    this.now = options.now ?? (() => new Date());
  }

  /** Builds, signs and stores a CRL now. */
  build(ca: string, kind: CrlKind): Promise<BuiltCrl> {
    // One build per CA and kind at a time; a second caller shares it.
    const key = `${ca}/${kind}`;
    const running = this.building.get(key);
    if (running) return running;
    const promise = this.buildNow(ca, kind).finally(() => this.building.delete(key));
    this.building.set(key, promise);
    return promise;
  }

  private async buildNow(ca: string, kind: CrlKind): Promise<BuiltCrl> {
    const context = await this.authority.signingContext(ca);
    const base = kind === 'delta' ? await this.latestStored(ca, 'full') : undefined;
    if (kind === 'delta' && !base) return this.build(ca, 'full');
    // Read the high-water mark first: a change racing the read lands in the next delta.
    const coversSeq = await currentStatusSeq(this.database);
    const number = await this.database.write(async (tx) => {
      const row = await tx
        .updateTable('ca_authority')
        .set((eb) => ({ crl_number: eb('crl_number', '+', 1) }))
        .where('name', '=', ca)
        .returning('crl_number')
        .executeTakeFirstOrThrow();
      return row.crl_number;
    });
    const entries = await this.entries(ca, kind === 'delta' ? base!.coversSeq : undefined);
    const thisUpdate = this.now();
    const nextUpdate = new Date(thisUpdate.getTime() + this.options.validityHours * 3600_000);
    const tbs = encodeCrl(context, { kind, number, ...(base ? { baseNumber: base.number } : {}), thisUpdate, nextUpdate, entries });
    const signature = await context.signer.sign(tbs);
    const crlDer = der.sequence(tbs, context.signer.algorithmIdentifier, der.bitString(signature));
    await this.database.write(async (tx) => {
      await tx
        .insertInto('crl')
        .values({
          ca_name: ca,
          number,
          kind,
          base_number: base?.number ?? null,
          this_update: thisUpdate.toISOString(),
          next_update: nextUpdate.toISOString(),
          covers_seq: coversSeq,
          entries: entries.length,
          der: crlDer,
        })
        .execute();
      // Keep the newest few of each kind; older ones are superseded.
      const keep = await tx.selectFrom('crl').select('number').where('ca_name', '=', ca).where('kind', '=', kind).orderBy('number', 'desc').limit(3).execute();
      const oldest = keep[keep.length - 1]?.number;
      if (oldest !== undefined) await tx.deleteFrom('crl').where('ca_name', '=', ca).where('kind', '=', kind).where('number', '<', oldest).execute();
      await appendAudit(tx, { actor: 'system', source: 'crl-service', action: 'ca.crl', object: `ca:${ca}/crl:${number}`, outcome: 'success', detail: { kind, entries: entries.length, ...(base ? { baseNumber: base.number } : {}) } });
    });
    const built: BuiltCrl = { ca, kind, number, ...(base ? { baseNumber: base.number } : {}), thisUpdate, nextUpdate, entries: entries.length, der: crlDer };
    this.latest.set(`${ca}/${kind}`, built);
    return built;
  }

  private async entries(ca: string, changedAfterSeq?: number): Promise<CrlEntry[]> {
    if (changedAfterSeq === undefined) {
      // Selected in CrlEntry's shape: a million rows are not copied into a million more objects.
      const rows = await this.database.db
        .selectFrom('certificate')
        .select(['serial', 'revoked_at as revokedAt', 'revocation_reason as reason'])
        .where('ca_name', '=', ca)
        .where('status', '!=', 'good') // revoked or hold; matches the partial index
        .execute();
      return rows as CrlEntry[];
    }
    const rows = await this.database.db
      .selectFrom('certificate')
      .select(['serial', 'status', 'revoked_at', 'revocation_reason', 'issued_at'])
      .where('ca_name', '=', ca)
      .where('status_changed_seq', '>', changedAfterSeq)
      .execute();
    // A released hold is listed in a delta as removeFromCRL (RFC 5280 5.3.1).
    return rows.map((r) =>
      r.status === 'good'
        ? { serial: r.serial, revokedAt: this.now().toISOString(), reason: REVOCATION_REASONS.removeFromCRL }
        : { serial: r.serial, revokedAt: r.revoked_at!, reason: r.revocation_reason },
    );
  }

  private async latestStored(ca: string, kind: CrlKind): Promise<{ number: number; coversSeq: number; row: BuiltCrl } | undefined> {
    const row = await this.database.db.selectFrom('crl').selectAll().where('ca_name', '=', ca).where('kind', '=', kind).orderBy('number', 'desc').limit(1).executeTakeFirst();
    if (!row) return undefined;
    return {
      number: row.number,
      coversSeq: row.covers_seq,
      row: {
        ca,
        kind,
        number: row.number,
        ...(row.base_number !== null ? { baseNumber: row.base_number } : {}),
        thisUpdate: new Date(row.this_update),
        nextUpdate: new Date(row.next_update),
        entries: row.entries,
        der: row.der,
      },
    };
  }

  /** The CRL to publish: the newest of its kind while it is fresh, else a new one. */
  async current(ca: string, kind: CrlKind): Promise<BuiltCrl> {
    // The database first: another instance sharing it may have built a newer one.
    const cached = (await this.latestStored(ca, kind))?.row ?? this.latest.get(`${ca}/${kind}`);
    const margin = Math.min(this.options.validityHours * 3600_000 / 4, 3600_000);
    if (cached && cached.nextUpdate.getTime() - margin > this.now().getTime()) {
      this.latest.set(`${ca}/${kind}`, cached);
      return cached;
    }
    return this.build(ca, kind);
  }

  /** Called after a status change: a delta CRL follows shortly, once per burst. */
  statusChanged(ca: string): void {
    if (this.pendingDelta.has(ca)) return;
    const timer = setTimeout(() => {
      this.pendingDelta.delete(ca);
      this.build(ca, 'delta').catch((error) => this.options.onError?.(error));
    }, this.options.afterChangeSeconds * 1000);
    timer.unref();
    this.pendingDelta.set(ca, timer);
  }

  /** Starts the schedule: full CRLs every interval, deltas after changes. */
  start(): void {
    this.authority.events.on('status', (change: { ca: string }) => this.statusChanged(change.ca));
    const tick = async () => {
      const cas = await this.database.db.selectFrom('ca_authority').select('name').execute();
      for (const { name } of cas) {
        const full = this.latest.get(`${name}/full`) ?? (await this.latestStored(name, 'full'))?.row;
        const due = !full || this.now().getTime() - full.thisUpdate.getTime() >= this.options.intervalSeconds * 1000;
        if (due) await this.build(name, 'full');
      }
    };
    const run = () => void tick().catch((error) => this.options.onError?.(error));
    run();
    this.schedule = setInterval(run, Math.min(this.options.intervalSeconds * 1000, 60_000));
    this.schedule.unref();
  }

  /**
   * The CRL schedule as named jobs for `serve`'s JobRunner (run once across
   * instances under the scheduler lease): `crl.full` builds a full CRL for
   * each CA whose newest is older than the interval (looked at every
   * interval, at most every minute, as start() does); `crl.delta` builds a
   * delta for each CA with a status change its newest CRL does not cover,
   * looked at every afterChangeSeconds (at least 1 s), so a revoke is on a
   * CRL that soon after, whichever instance took it.
   */
  jobs(): Job[] {
    return [
      { name: 'crl.full', schedule: { everyMs: Math.min(this.options.intervalSeconds * 1000, 60_000) }, run: () => this.buildDueFull() },
      { name: 'crl.delta', schedule: { everyMs: Math.max(1000, this.options.afterChangeSeconds * 1000) }, run: () => this.buildDueDeltas() },
    ];
  }

  /** A full CRL for each CA whose newest full CRL is older than the interval (or missing). */
  async buildDueFull(): Promise<BuiltCrl[]> {
    const built: BuiltCrl[] = [];
    const cas = await this.database.db.selectFrom('ca_authority').select('name').execute();
    for (const { name } of cas) {
      // Read from the database, not this instance's memory: another instance may have built it.
      const full = (await this.latestStored(name, 'full'))?.row;
      const due = !full || this.now().getTime() - full.thisUpdate.getTime() >= this.options.intervalSeconds * 1000;
      if (due) built.push(await this.build(name, 'full'));
    }
    return built;
  }

  /** A delta CRL for each CA with a status change after what its newest CRL (full or delta) covers. */
  async buildDueDeltas(): Promise<BuiltCrl[]> {
    const built: BuiltCrl[] = [];
    const cas = await this.database.db.selectFrom('ca_authority').select('name').execute();
    for (const { name } of cas) {
      const newest = await this.database.db.selectFrom('crl').select((eb) => eb.fn.max('covers_seq').as('seq')).where('ca_name', '=', name).executeTakeFirst();
      if (newest?.seq === null || newest?.seq === undefined) continue; // no CRL yet: crl.full makes the first
      const changed = await this.database.db
        .selectFrom('certificate')
        .select('serial')
        .where('ca_name', '=', name)
        .where('status_changed_seq', '>', Number(newest.seq))
        .limit(1)
        .executeTakeFirst();
      if (changed) built.push(await this.build(name, 'delta'));
    }
    return built;
  }

  stop(): void {
    if (this.schedule) clearInterval(this.schedule);
    for (const timer of this.pendingDelta.values()) clearTimeout(timer);
    this.pendingDelta.clear();
  }
}

export function assertCrlKind(kind: string): CrlKind {
  if (kind === 'full' || kind === 'delta') return kind;
  throw new EgovError('bad-request', `CRL kind must be full or delta, got "${kind}"`);
}
