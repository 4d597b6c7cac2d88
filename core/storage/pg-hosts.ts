// A PostgreSQL URL may name several hosts, as libpq allows
// (postgres://egov@db1:5432,db2:5432/egov). node-pg connects to one host
// only, so with several the pool asks which of them is the primary (the one
// not in recovery) and opens its connections there; when a connection fails
// or a write meets a read-only server, it asks again. That is how the app
// servers follow a promoted standby with no virtual IP or proxy in between.

import type pg from 'pg';
import { EgovError } from '../errors.js';
import { redactUrlPassword } from '../logging.js';

const URL_PARTS = /^(postgres(?:ql)?:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/s;

/** One single-host URL per host the URL names, in its order (the URL itself when it names one). */
export function splitPostgresHosts(url: string): string[] {
  const m = URL_PARTS.exec(url);
  if (!m) return [url];
  const hosts = m[3]!.split(',').filter(Boolean);
  if (hosts.length <= 1) return [url];
  return hosts.map((host) => `${m[1]}${m[2] ?? ''}${host}${m[4]}`);
}

/** SQLSTATE 25006: a write on a server in recovery (a standby, or an old primary brought back as one). */
export const isReadOnlyError = (error: unknown): boolean => (error as { code?: unknown })?.code === '25006';

/** A pooled connection, and the host it went to. */
type TargetedClient = pg.Client & { readonly target: string };

/**
 * Which of several hosts is the primary. `current` is where new connections
 * go; `stale()` (a failed connection, a read-only error) starts one search
 * (at most once a second, four times a second while none is found), and new connections keep going to the old host
 * until a primary answers. When the primary moves, the connections still
 * open to the old host are let go: idle ones at once (an 'error' the pool
 * drops them on), busy ones when they come back to the pool (`isOld`); a
 * healthy connection to a standby would otherwise be reused for ever.
 */
export class PrimarySelector {
  current: string;
  private searching: Promise<string> | undefined;
  /** No new search before this time: 1 s after one that found the primary, 250 ms after one that found none (a promotion is under way). */
  private quietUntil = 0;
  private readonly clients = new Set<TargetedClient>();

  constructor(
    readonly urls: readonly string[],
    private readonly Client: typeof pg.Client,
  ) {
    this.current = urls[0]!;
  }

  /** Asks each host in order; the first that accepts a connection and is not in recovery becomes current. */
  find(): Promise<string> {
    this.searching ??= this.search().then(
      (url) => ((this.searching = undefined), (this.quietUntil = Date.now() + 1000), url),
      (error: unknown) => {
        this.searching = undefined;
        this.quietUntil = Date.now() + 250;
        throw error;
      },
    );
    return this.searching;
  }

  stale(): void {
    if (this.searching || Date.now() < this.quietUntil) return;
    this.find().catch(() => undefined);
  }

  track(client: TargetedClient): void {
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
  }

  /** A connection to a host that is no longer the primary. */
  isOld(client: pg.Client): boolean {
    const target = (client as Partial<TargetedClient>).target;
    return target !== undefined && target !== this.current;
  }

  private moveTo(url: string): void {
    this.current = url;
    for (const client of this.clients) if (client.target !== url) client.emit('error', new EgovError('unavailable', `the PostgreSQL primary moved to ${redactUrlPassword(url)}`));
  }

  private async search(): Promise<string> {
    const answers: string[] = [];
    for (const url of this.urls) {
      const client = new this.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const { rows } = await client.query<{ recovery: boolean }>('select pg_is_in_recovery() as recovery');
        if (rows[0]?.recovery === false) {
          if (url !== this.current) this.moveTo(url);
          return url;
        }
        answers.push(`${redactUrlPassword(url)}: in recovery (a standby)`);
      } catch (error) {
        answers.push(`${redactUrlPassword(url)}: ${(error as Error).message}`);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    throw new EgovError('unavailable', `no primary among the PostgreSQL hosts: ${answers.join('; ')}`, { hosts: this.urls.map(redactUrlPassword) });
  }
}

/** A pg.Client class whose every new connection goes to the selector's current primary, and tells it when one fails. */
export function clientToPrimary(Client: typeof pg.Client, selector: PrimarySelector): typeof pg.Client {
  return class ToPrimary extends Client {
    readonly target: string;

    constructor(config?: string | pg.ClientConfig) {
      const target = selector.current;
      super({ ...(typeof config === 'string' ? {} : config), connectionString: target });
      this.target = target;
      this.on('error', () => selector.stale());
      selector.track(this);
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ((error: Error) => void) | ((error: null, client: pg.Client) => void)): void;
    // pg-pool connects with a callback; anything else with the promise.
    override connect(callback?: (...args: never[]) => void): Promise<pg.Client> | void {
      if (callback) {
        const done = callback as (error: Error | null, client?: pg.Client) => void;
        super.connect(((error: Error | null, client?: pg.Client) => {
          if (error) selector.stale();
          done(error, client);
        }) as (error: Error) => void);
        return;
      }
      return super.connect().catch((error: unknown) => {
        selector.stale();
        throw error;
      });
    }
  } as unknown as typeof pg.Client;
}

/** The URL without its password, and the password (for PGPASSWORD: never on a command line). Works on several-host URLs, which URL() rejects. */
export function splitPostgresPassword(url: string): { url: string; password: string | undefined } {
  const m = /^(postgres(?:ql)?:\/\/)([^:@/]+):([^@/]*)@/.exec(url);
  if (!m) return { url, password: undefined };
  return { url: `${m[1]}${m[2]}@${url.slice(m[0].length)}`, password: decodeURIComponent(m[3]!) };
}

/** The same URL naming another database (its path), for every host it names. */
export function withPostgresDatabase(url: string, database: string): string {
  const m = URL_PARTS.exec(url);
  if (!m) throw new EgovError('bad-config', `not a PostgreSQL URL: ${redactUrlPassword(url)}`);
  const query = m[4]!.replace(/^\/[^?#]*/, '');
  return `${m[1]}${m[2] ?? ''}${m[3]}/${encodeURIComponent(database)}${query}`;
}

/** The single-host URL of the primary: the URL itself when it names one host, else the first host not in recovery. */
export function primaryPostgresUrl(url: string, Client: typeof pg.Client): Promise<string> {
  const hosts = splitPostgresHosts(url);
  return hosts.length > 1 ? new PrimarySelector(hosts, Client).find() : Promise.resolve(url);
}
