// An SNMP session to one agent, on net-snmp: get, getnext, getbulk, and
// walks (GETBULK for v2c/v3, GETNEXT for v1) that stop where
// snmpbulkwalk stops. Every failure becomes an EgovError that names the
// target and says what went wrong: no answer, wrong v3 password, a
// malformed answer, an error-status.

import { isIP } from 'node:net';
import * as snmp from 'net-snmp';
import type { RawVarbind, Session, V3User } from 'net-snmp';
import { EgovError } from '../../core/errors.js';
import { framingProblem, guardedDgram } from './guarded-dgram.js';
import { compareOids, isUnder, type Oid } from './oid.js';
import { DEFAULT_TIMING, describeEndpoint, type AuthProtocol, type Credentials, type Endpoint, type PrivProtocol, type Timing } from './target.js';
import { decodeVarbind, isException, MalformedValueError, type Varbind } from './values.js';

export interface SessionOptions {
  timing?: Timing;
  /** GETBULK max-repetitions for walks (snmpbulkwalk's -Cr); default 25. */
  maxRepetitions?: number;
}

export const DEFAULT_MAX_REPETITIONS = 25;

/** Counts per session, for the poller's figures and for tests. */
export interface SessionCounters {
  requests: number;
  timeouts: number;
  /** Datagrams net-snmp could not decode or choked on. */
  malformedDatagrams: number;
  /** Datagrams from an address or port other than the agent's, dropped unread. */
  strayDatagrams: number;
}

/** A response that could not be decoded: raised on the session so pending requests fail at once with the reason. */
class MalformedResponseError extends Error {
  override readonly name = 'MalformedResponseError';
}

const AUTH: Record<AuthProtocol, string> = {
  MD5: snmp.AuthProtocols.md5,
  SHA: snmp.AuthProtocols.sha,
  'SHA-224': snmp.AuthProtocols.sha224,
  'SHA-256': snmp.AuthProtocols.sha256,
  'SHA-384': snmp.AuthProtocols.sha384,
  'SHA-512': snmp.AuthProtocols.sha512,
};

const PRIV: Record<PrivProtocol, string> = {
  DES: snmp.PrivProtocols.des,
  AES: snmp.PrivProtocols.aes,
  'AES-256': snmp.PrivProtocols.aes256b,
  'AES-256C': snmp.PrivProtocols.aes256r,
};

function v3User(credentials: Extract<Credentials, { version: '3' }>): V3User {
  switch (credentials.level) {
    case 'noAuthNoPriv':
      return { name: credentials.user, level: snmp.SecurityLevel.noAuthNoPriv };
    case 'authNoPriv':
      return { name: credentials.user, level: snmp.SecurityLevel.authNoPriv, authProtocol: AUTH[credentials.authProtocol], authKey: credentials.authPassword };
    case 'authPriv':
      return {
        name: credentials.user,
        level: snmp.SecurityLevel.authPriv,
        authProtocol: AUTH[credentials.authProtocol],
        authKey: credentials.authPassword,
        privProtocol: PRIV[credentials.privProtocol],
        privKey: credentials.privPassword,
      };
  }
}

export class SnmpSession {
  readonly endpoint: Endpoint;
  readonly timing: Timing;
  readonly maxRepetitions: number;
  readonly version: Credentials['version'];
  readonly counters: SessionCounters = { requests: 0, timeouts: 0, malformedDatagrams: 0, strayDatagrams: 0 };
  private readonly session: Session;
  private readonly user: string | undefined;
  private readonly level: string | undefined;
  private closed = false;

  private constructor(endpoint: Endpoint, credentials: Credentials, options: SessionOptions) {
    this.endpoint = endpoint;
    this.timing = options.timing ?? DEFAULT_TIMING;
    this.maxRepetitions = options.maxRepetitions ?? DEFAULT_MAX_REPETITIONS;
    this.version = credentials.version;
    this.user = credentials.version === '3' ? credentials.user : undefined;
    this.level = credentials.version === '3' ? credentials.level : undefined;
    const checkAddress = isIP(endpoint.host) !== 0;
    const dgramModule = guardedDgram({
      accept: (message, rinfo) => {
        const fromAgent = rinfo.port === endpoint.port && (!checkAddress || rinfo.address === endpoint.host);
        if (!fromAgent) {
          this.counters.strayDatagrams++;
          return false;
        }
        const problem = framingProblem(message);
        if (problem) this.failPending(`malformed response from ${describeEndpoint(endpoint)}: ${problem}`);
        return problem === null;
      },
      onHandlerError: (error) => this.failPending(`malformed response from ${describeEndpoint(endpoint)}: ${(error as Error).message ?? String(error)}`),
    });
    const common = {
      port: endpoint.port,
      transport: endpoint.transport,
      timeout: this.timing.timeoutMs,
      retries: this.timing.retries,
      reportOidMismatchErrors: true,
      dgramModule,
    } as const;
    this.session =
      credentials.version === '3'
        ? snmp.createV3Session(endpoint.host, v3User(credentials), { ...common, version: snmp.Version3 })
        : snmp.createSession(endpoint.host, credentials.community, { ...common, version: credentials.version === '1' ? snmp.Version1 : snmp.Version2c });
    // net-snmp emits 'error' for a datagram it cannot parse as an SNMP message; unhandled, that event would throw.
    this.session.on('error', (error: Error) => this.failPending(`malformed response from ${describeEndpoint(endpoint)}: ${error.message}`));
  }

  static open(endpoint: Endpoint, credentials: Credentials, options: SessionOptions = {}): SnmpSession {
    return new SnmpSession(endpoint, credentials, options);
  }

  get target(): string {
    return describeEndpoint(this.endpoint);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.session.close();
    } catch {
      /* socket already closed */
    }
  }

  /** GET: one varbind per OID, in order; v2c/v3 exceptions (noSuchObject …) come back as values. */
  get(oids: Oid[]): Promise<Varbind[]> {
    return this.request('get', (done) => this.session.get(oids, done));
  }

  /**
   * GET of the OIDs the agent has, skipping the rest: v2c/v3 exceptions are
   * left out; a v1 agent fails the whole request with noSuchName, so the
   * named OID is dropped and the rest asked again (as net-snmp's tools do).
   */
  async getExisting(oids: Oid[]): Promise<Varbind[]> {
    let remaining = [...oids];
    while (remaining.length > 0) {
      try {
        return (await this.get(remaining)).filter((v) => !isException(v.value));
      } catch (error) {
        if (!(error instanceof EgovError) || error.details?.errorStatus !== 'NoSuchName') throw error;
        const failed = error.details.failedOid;
        const before = remaining.length;
        remaining = remaining.filter((oid) => oid !== failed);
        if (remaining.length === before) throw error;
      }
    }
    return [];
  }

  getNext(oids: Oid[]): Promise<Varbind[]> {
    return this.request('getnext', (done) => this.session.getNext(oids, done));
  }

  /** GETBULK without non-repeaters: for each OID, up to maxRepetitions successors. v2c/v3 only. */
  async getBulk(oids: Oid[], maxRepetitions: number): Promise<Varbind[][]> {
    if (this.version === '1') throw new EgovError('bad-request', 'GETBULK does not exist in SNMPv1: use getnext (or -v 2c / -v 3)');
    const grouped = await this.request<Array<RawVarbind | RawVarbind[]>, Varbind[][]>(
      'getbulk',
      (done) => this.session.getBulk(oids, 0, maxRepetitions, done),
      (raw) => raw.map((group) => (Array.isArray(group) ? group : [group]).map(decodeVarbind)),
    );
    return grouped;
  }

  /**
   * Walks the subtree under `root` in order, calling `onVarbind` for each
   * value, as snmpbulkwalk (v2c/v3) or snmpwalk (v1) does: stops at the
   * first OID outside the subtree; an exception inside it (endOfMibView at
   * the end of the agent's view) is handed over too, then the walk stops;
   * when nothing was found, GETs `root` itself. Throws when the agent
   * returns an OID that does not increase (it would loop forever).
   * `endOfMib`: the agent said its MIB view ended (v1 noSuchName, v2 endOfMibView).
   */
  async walk(root: Oid, onVarbind: (varbind: Varbind) => void, options: { maxRepetitions?: number } = {}): Promise<{ count: number; endOfMib: boolean }> {
    let count = 0;
    let endOfMib = false;
    let cursor = root;
    let maxRepetitions = options.maxRepetitions ?? this.maxRepetitions;
    for (let finished = false; !finished; ) {
      let batch: Varbind[];
      if (this.version === '1') {
        const next = await this.getNextOrEnd(cursor);
        endOfMib = next === null;
        batch = next ? [next] : [];
      } else {
        try {
          batch = (await this.getBulk([cursor], maxRepetitions))[0] ?? [];
        } catch (error) {
          // tooBig: the answer would not fit a datagram; ask for fewer at a time.
          if (error instanceof EgovError && error.details?.errorStatus === 'TooBig' && maxRepetitions > 1) {
            maxRepetitions = Math.max(1, Math.floor(maxRepetitions / 2));
            continue;
          }
          throw error;
        }
      }
      finished = batch.length === 0;
      for (const varbind of batch) {
        if (!isUnder(varbind.oid, root)) {
          finished = true;
          continue;
        }
        if (isException(varbind.value)) {
          // snmpbulkwalk prints an exception inside the subtree, then stops.
          onVarbind(varbind);
          count++;
          endOfMib ||= varbind.value.type === 'EndOfMibView';
          finished = true;
          continue;
        }
        if (compareOids(varbind.oid, cursor) <= 0) {
          throw new EgovError('unavailable', `agent ${this.target} returned OID .${varbind.oid} after .${cursor} during a walk (OID not increasing)`, { target: this.target });
        }
        onVarbind(varbind);
        count++;
        cursor = varbind.oid;
      }
    }
    if (count === 0) {
      const single = await this.getSingleOrNothing(root);
      if (single) {
        onVarbind(single);
        count = 1;
      }
    }
    return { count, endOfMib };
  }

  /** The whole subtree as an array (small subtrees; the CLI streams instead). */
  async walkAll(root: Oid, options: { maxRepetitions?: number } = {}): Promise<Varbind[]> {
    const all: Varbind[] = [];
    await this.walk(root, (varbind) => all.push(varbind), options);
    return all;
  }

  /**
   * Walks several table columns side by side (one GETBULK carries them all,
   * as a poller wants): column OID -> its cells in order. Columns the agent
   * does not have come back empty. v1 uses GETNEXT with all cursors.
   */
  async walkColumns(columns: Oid[], maxRepetitions = this.maxRepetitions): Promise<Map<Oid, Varbind[]>> {
    const cells = new Map<Oid, Varbind[]>(columns.map((c) => [c, []]));
    let active = columns.map((column) => ({ column, cursor: column }));
    let repetitions = maxRepetitions;
    while (active.length > 0) {
      let groups: Varbind[][];
      if (this.version === '1') {
        groups = await this.getNextColumns(active.map((a) => a.cursor));
      } else {
        try {
          groups = await this.getBulk(active.map((a) => a.cursor), repetitions);
        } catch (error) {
          if (error instanceof EgovError && error.details?.errorStatus === 'TooBig' && repetitions > 1) {
            repetitions = Math.max(1, Math.floor(repetitions / 2));
            continue;
          }
          throw error;
        }
      }
      // An agent may answer with fewer cells than asked (RFC 3416 4.2.3: to fit the datagram); a column with
      // none this round is asked again, and only a round with no progress at all ends the walk.
      const stillActive: typeof active = [];
      let progressed = false;
      active.forEach((entry, i) => {
        const group = groups[i] ?? [];
        let done = false;
        for (const varbind of group) {
          if (isException(varbind.value) || !isUnder(varbind.oid, entry.column)) {
            done = true;
            break;
          }
          if (compareOids(varbind.oid, entry.cursor) <= 0) {
            throw new EgovError('unavailable', `agent ${this.target} returned OID .${varbind.oid} after .${entry.cursor} (OID not increasing)`, { target: this.target });
          }
          cells.get(entry.column)!.push(varbind);
          entry.cursor = varbind.oid;
        }
        if (done || group.length > 0) progressed = true;
        if (!done) stillActive.push(entry);
      });
      if (!progressed) throw new EgovError('unavailable', `agent ${this.target} answered a GETBULK of ${active.length} columns with no values`, { target: this.target, reason: 'malformed-response' });
      active = stillActive;
    }
    return cells;
  }

  // ------------------------------------------------------------ internals

  /**
   * v1 GETNEXT of several cursors. A cursor at the end of the MIB fails the
   * whole request with noSuchName: it gets endOfMibView (what v2 would have
   * said) and the rest are asked again.
   */
  private async getNextColumns(cursors: Oid[]): Promise<Varbind[][]> {
    let remaining = cursors.map((cursor, index) => ({ cursor, index }));
    const groups: Varbind[][] = cursors.map((cursor) => [{ oid: cursor, value: { type: 'EndOfMibView' } }]);
    while (remaining.length > 0) {
      try {
        const next = await this.getNext(remaining.map((r) => r.cursor));
        next.forEach((varbind, i) => (groups[remaining[i]!.index] = [varbind]));
        return groups;
      } catch (error) {
        if (!(error instanceof EgovError) || error.details?.errorStatus !== 'NoSuchName') throw error;
        const failed = error.details.failedOid;
        const before = remaining.length;
        remaining = remaining.filter((r) => r.cursor !== failed);
        if (remaining.length === before) throw error;
      }
    }
    return groups;
  }

  /** One GETNEXT; null at the end of the MIB (v1 says so with noSuchName). */
  private async getNextOrEnd(cursor: Oid): Promise<Varbind | null> {
    try {
      return (await this.getNext([cursor]))[0] ?? null;
    } catch (error) {
      if (error instanceof EgovError && error.details?.errorStatus === 'NoSuchName') return null;
      throw error;
    }
  }

  /** GET of a walk's root when the walk found nothing: the value, a v2c exception, or nothing (v1 noSuchName). */
  private async getSingleOrNothing(oid: Oid): Promise<Varbind | null> {
    try {
      return (await this.get([oid]))[0] ?? null;
    } catch (error) {
      if (error instanceof EgovError && error.details?.errorStatus === 'NoSuchName') return null;
      throw error;
    }
  }

  private failPending(reason: string): void {
    this.counters.malformedDatagrams++;
    this.session.cancelRequests(new MalformedResponseError(reason));
  }

  private request<Raw = RawVarbind[], Out = Varbind[]>(
    operation: string,
    start: (done: (error: Error | null, result?: Raw) => void) => void,
    decode: (raw: Raw) => Out = (raw) => (raw as unknown as RawVarbind[]).map(decodeVarbind) as unknown as Out,
  ): Promise<Out> {
    if (this.closed) return Promise.reject(new EgovError('internal', `session to ${this.target} is closed`));
    this.counters.requests++;
    return new Promise<Out>((resolve, reject) => {
      let settled = false;
      const done = (error: Error | null, result?: Raw) => {
        if (settled) return; // a request cancelled on a malformed datagram must settle once
        settled = true;
        if (error) return reject(this.explain(error, operation));
        try {
          resolve(decode(result as Raw));
        } catch (decodeError) {
          this.counters.malformedDatagrams++;
          reject(this.explain(decodeError as Error, operation));
        }
      };
      try {
        start(done);
      } catch (error) {
        done(error as Error);
      }
    });
  }

  /** net-snmp's error, as an EgovError a person can act on. */
  private explain(error: Error, operation: string): EgovError {
    const target = this.target;
    const details: Record<string, unknown> = { target, operation };
    if (error instanceof snmp.RequestTimedOutError) {
      this.counters.timeouts++;
      const tries = this.timing.retries + 1;
      // Agents stay silent on a wrong community or an undecryptable v3 request: say so, it is the usual cause.
      const hint = this.version !== '3' ? ' (a wrong community gets no answer either)' : this.level === 'authPriv' ? ' (a wrong privacy password gets no answer either)' : '';
      return new EgovError('unavailable', `no answer from ${target} after ${tries} ${tries === 1 ? 'try' : 'tries'} (timeout ${this.timing.timeoutMs} ms)${hint}`, { ...details, reason: 'timeout' });
    }
    if (error instanceof MalformedResponseError) return new EgovError('unavailable', error.message, { ...details, reason: 'malformed-response' });
    if (error instanceof MalformedValueError) return new EgovError('unavailable', `malformed response from ${target}: ${error.message}`, { ...details, reason: 'malformed-response' });
    if (error instanceof snmp.ResponseInvalidError) return this.explainInvalidResponse(error, details);
    if (error instanceof snmp.RequestFailedError) return this.explainErrorStatus(error, details);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_OSSL_EVP_UNSUPPORTED') {
      return new EgovError('bad-request', 'DES privacy is not available: OpenSSL 3 moved DES to its legacy provider (run node with --openssl-legacy-provider), or use -x AES', details);
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new EgovError('unavailable', `cannot resolve ${this.endpoint.host}: ${error.message}`, { ...details, reason: 'dns' });
    if (code) return new EgovError('unavailable', `cannot send to ${target}: ${error.message}`, { ...details, reason: code });
    return new EgovError('internal', `SNMP ${operation} to ${target} failed: ${error.message}`, details);
  }

  private explainInvalidResponse(error: InstanceType<typeof snmp.ResponseInvalidError>, details: Record<string, unknown>): EgovError {
    const target = this.target;
    const codes = snmp.ResponseInvalidCode;
    if (error.code === codes.EAuthFailure) {
      const user = this.user ?? '?';
      const usm = error.message;
      if (/Unknown User Name/i.test(usm)) return new EgovError('unauthorized', `authentication failed: ${target} has no v3 user ${user}`, { ...details, reason: 'unknown-user' });
      if (/Unsupported Security Level/i.test(usm)) return new EgovError('unauthorized', `authentication failed for v3 user ${user}: ${target} does not allow this security level for the user`, { ...details, reason: 'unsupported-security-level' });
      if (/Decryption Error/i.test(usm)) return new EgovError('unauthorized', `authentication failed for v3 user ${user}: ${target} could not decrypt the request (wrong privacy password or protocol)`, { ...details, reason: 'decryption-error' });
      if (/Not In Time Window/i.test(usm)) return new EgovError('unauthorized', `authentication failed for v3 user ${user}: request outside ${target}'s time window`, { ...details, reason: 'not-in-time-window' });
      return new EgovError('unauthorized', `authentication failed for v3 user ${user}: wrong password or auth protocol`, { ...details, reason: 'wrong-digest' });
    }
    if (error.code === codes.ECouldNotDecrypt) {
      return new EgovError('unauthorized', `authentication failed for v3 user ${this.user ?? '?'}: could not decrypt the answer from ${target} (wrong privacy password or protocol)`, { ...details, reason: 'decryption-error' });
    }
    if (error.code === codes.ENotInTimeWindow) return new EgovError('unavailable', `answer from ${target} is outside the v3 time window: ${error.message}`, { ...details, reason: 'not-in-time-window' });
    return new EgovError('unavailable', `malformed response from ${target}: ${error.message}`, { ...details, reason: 'malformed-response' });
  }

  private explainErrorStatus(error: InstanceType<typeof snmp.RequestFailedError>, details: Record<string, unknown>): EgovError {
    const target = this.target;
    const statusName = String(snmp.ErrorStatus[error.status] ?? 'GeneralError');
    // net-snmp's message is "Status: OID" when the agent named the varbind.
    const failedOid = /: ([\d.]+)$/.exec(error.message)?.[1];
    const at = failedOid ? ` at .${failedOid}` : '';
    const more = { ...details, errorStatus: statusName, ...(failedOid ? { failedOid } : {}) };
    switch (statusName) {
      case 'NoSuchName':
        return new EgovError('not-found', `${target}: no such name${at}`, more);
      case 'TooBig':
        return new EgovError('bad-request', `${target}: the answer would be too big for one datagram (tooBig); ask for fewer OIDs`, more);
      case 'NoAccess':
      case 'AuthorizationError':
        return new EgovError('forbidden', `${target}: access denied (${statusName})${at}`, more);
      default:
        return new EgovError('unavailable', `${target} answered with error-status ${statusName}${at}`, more);
    }
  }
}
