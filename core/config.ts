// Configuration: defaults < file (YAML or JSON) < environment < flags.
// Validated once at start; an error names the key and what was expected.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import YAML from 'yaml';
import { EgovError } from './errors.js';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });

const BackupName = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });
const KeepCount = Type.Integer({ minimum: 0, maximum: 100000 });

/** Retention applied with `restic forget --prune` on the target's pruneSchedule (or `backup run --prune`, `backup prune`). */
const BackupRetentionSchema = Type.Object(
  {
    keepLast: Type.Optional(KeepCount),
    keepDaily: Type.Optional(KeepCount),
    keepWeekly: Type.Optional(KeepCount),
    keepMonthly: Type.Optional(KeepCount),
    keepYearly: Type.Optional(KeepCount),
  },
  { additionalProperties: false },
);

const BackupTargetSchema = Type.Object(
  {
    /** same-city: a path (a NAS mount in a second building); remote: an sftp repository in the DR centre. */
    kind: Type.Union([Type.Literal('same-city'), Type.Literal('remote')]),
    /** A path for same-city; sftp:user@host:/path for remote. */
    repository: Type.String({ minLength: 1 }),
    /** The repository password: a file (first line), or an environment variable's name. Never on the command line. */
    passwordFile: Type.Optional(Type.String({ minLength: 1 })),
    passwordEnv: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })),
    /** Cron-like: five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly. */
    schedule: Type.Optional(Type.String({ minLength: 1 })),
    /** When retention (restic forget --prune) runs, in the same form as schedule. Default daily at 04:30. */
    pruneSchedule: Type.Optional(Type.String({ minLength: 1 })),
    retention: Type.Optional(BackupRetentionSchema),
    /** Recovery objectives this target is meant to meet. */
    objectives: Type.Optional(
      Type.Object(
        { rpoHours: Type.Optional(Type.Number({ exclusiveMinimum: 0 })), rtoHours: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) },
        { additionalProperties: false },
      ),
    ),
    /** Whether the repository is away from the primary site (default: remote yes; same-city yes unless under dataDir). */
    offsite: Type.Optional(Type.Boolean()),
    /** remote only: how ssh reaches the server. */
    sftp: Type.Optional(
      Type.Object(
        {
          port: Type.Optional(Port),
          identityFile: Type.Optional(Type.String({ minLength: 1 })),
          knownHostsFile: Type.Optional(Type.String({ minLength: 1 })),
          connectTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 600 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const BackupPlanSchema = Type.Object(
  {
    /** Save the suite's own stores: the database (online export), config. Default true. */
    stores: Type.Optional(Type.Boolean()),
    /** Extra absolute paths to save. */
    paths: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /** restic --exclude patterns. */
    exclude: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /** Pre-commands whose standard output is saved (database dumps): run with /bin/sh -c. */
    commands: Type.Optional(
      Type.Array(
        Type.Object(
          { name: BackupName, run: Type.String({ minLength: 1 }), timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })) },
          { additionalProperties: false },
        ),
      ),
    ),
    /** Names of targets this plan goes to (default: all targets). */
    targets: Type.Optional(Type.Array(BackupName)),
  },
  { additionalProperties: false },
);

const BackupSchema = Type.Object(
  {
    targets: Type.Optional(Type.Record(BackupName, BackupTargetSchema)),
    plans: Type.Optional(Type.Record(BackupName, BackupPlanSchema)),
    drill: Type.Optional(
      Type.Object(
        {
          /** restic check reads all data up to this repository size, a subset above it. */
          readAllDataUpToMiB: Type.Optional(Type.Integer({ minimum: 0 })),
          /** The subset read above that size: "10%" or "1G" style, as restic takes it. */
          readDataSubset: Type.Optional(Type.String({ pattern: '^([0-9]+(\\.[0-9]+)?%|[0-9]+[KMGT]?|[0-9]+/[0-9]+)$' })),
        },
        { additionalProperties: false },
      ),
    ),
    /** What the disaster-recovery level evaluation cannot see for itself: declared by the operator. */
    site: Type.Optional(
      Type.Object(
        {
          standbySite: Type.Optional(Type.Boolean()),
          standbyEquipment: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('partial'), Type.Literal('full')])),
          staffed24x7: Type.Optional(Type.Boolean()),
          automaticSwitchover: Type.Optional(Type.Boolean()),
          realTimeReplication: Type.Optional(Type.Boolean()),
          synchronousReplication: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1 }),
    database: Type.Object(
      {
        /** postgres://user@host:port/db selects PostgreSQL; absent means SQLite in dataDir. */
        url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
      },
      { additionalProperties: false },
    ),
    server: Type.Object(
      {
        host: Type.String({ minLength: 1 }),
        port: Port,
        /** HTTPS with client certificates (mTLS): the desk, the API, agents. The plain port serves only public routes. */
        tlsPort: Port,
        /** Names the server certificate carries besides localhost and 127.0.0.1. */
        tlsNames: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 20 }),
        /** Base URL written into certificates (CRL distribution point, AIA). */
        publicUrl: Type.String({ pattern: '^https?://[^/]+' }),
      },
      { additionalProperties: false },
    ),
    ca: Type.Object(
      {
        /** Full CRL rebuilt at least this often. */
        crlIntervalSeconds: Type.Integer({ minimum: 10, maximum: 7 * 86400 }),
        /** A revoke triggers a delta CRL this soon after (debounced). */
        crlAfterRevokeSeconds: Type.Number({ minimum: 0, maximum: 3600 }),
        /** nextUpdate = thisUpdate + this. */
        crlValidityHours: Type.Integer({ minimum: 1, maximum: 24 * 31 }),
        /** OCSP nextUpdate window, and how long a cached answer may be served. */
        ocspValiditySeconds: Type.Integer({ minimum: 60, maximum: 7 * 86400 }),
        /** Who signs OCSP answers: the delegated responder certificate, or the issuing CA key itself. */
        ocspSigner: Type.Union([Type.Literal('delegated'), Type.Literal('issuer')]),
        /** YAML or JSON file of certificate profiles that replace or add to the built-in ones. */
        profilesFile: Type.Optional(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false },
    ),
    access: Type.Object(
      {
        /** The hierarchy that issues people's, agents' and the server's TLS certificates (default: the first non-SM2 one). */
        ca: Type.Optional(Type.String({ minLength: 1 })),
        /** Wrong passwords in a row before a certificate is locked out. */
        maxFailedSignIns: Type.Integer({ minimum: 1, maximum: 100 }),
        lockoutMinutes: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 }),
        /** A session ends after this long without a request... */
        sessionIdleMinutes: Type.Integer({ minimum: 1, maximum: 24 * 60 }),
        /** ...and after this long in any case. */
        sessionMaxHours: Type.Integer({ minimum: 1, maximum: 24 * 7 }),
      },
      { additionalProperties: false },
    ),
    ra: Type.Object(
      {
        /** Per profile: approval needs a second operator who did not vet. Profiles not listed: off. */
        fourEyes: Type.Record(Type.String(), Type.Boolean()),
      },
      { additionalProperties: false },
    ),
    /** Where metrics go: InfluxDB 1.x when `influx` is set, else the embedded store in the suite's database. */
    metrics: Type.Optional(
      Type.Object(
        {
          retentionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
          influx: Type.Optional(
            Type.Object(
              {
                url: Type.String({ pattern: '^https?://' }),
                database: Type.String({ minLength: 1, maxLength: 64 }),
                username: Type.Optional(Type.String({ minLength: 1 })),
                password: Type.Optional(Type.String()),
                retentionPolicy: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
                batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
                /** host:port of influxd's RPC bind address, which `influxd backup` and `restore` talk to (not the HTTP port). Default: the host of url, port 8088. */
                backupAddress: Type.Optional(Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):[0-9]{1,5}$' })),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    monitor: Type.Object(
      {
        /** Logs and events are kept this long (grade protection asks for at least 180 days). */
        logRetentionDays: Type.Integer({ minimum: 1, maximum: 3650 }),
        /** A node with no sample for this long is `unknown`. */
        staleAfterSeconds: Type.Integer({ minimum: 10, maximum: 86400 }),
      },
      { additionalProperties: false },
    ),
    log: Type.Object(
      { level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))) },
      { additionalProperties: false },
    ),
    /** Backups and disaster recovery (backup/). Absent: one default plan, a same-city repository under dataDir/backups. */
    backup: Type.Optional(BackupSchema),
    /** Alerts (monitor/alerts). Absent: the built-in rules, no routes. */
    alerts: Type.Optional(
      Type.Object(
        {
          /** YAML file of rules, routes and escalations over the built-in rules (checked as a whole at start). */
          rulesFile: Type.Optional(Type.String({ minLength: 1 })),
          /** The console's address as operators reach it: links in messages point there. */
          externalUrl: Type.Optional(Type.String({ pattern: '^https?://[^/]+' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type BackupConfig = Static<typeof BackupSchema>;
export type BackupTargetConfig = Static<typeof BackupTargetSchema>;
export type BackupPlanConfig = Static<typeof BackupPlanSchema>;
export type BackupRetentionConfig = Static<typeof BackupRetentionSchema>;

export function defaultConfig(dataDir = './data'): Config {
  return {
    dataDir,
    database: {},
    server: { host: '127.0.0.1', port: 8080, tlsPort: 8443, tlsNames: [], publicUrl: 'http://127.0.0.1:8080' },
    access: { maxFailedSignIns: 5, lockoutMinutes: 15, sessionIdleMinutes: 15, sessionMaxHours: 8 },
    ra: { fourEyes: { person: true, software: true } },
    monitor: { logRetentionDays: 180, staleAfterSeconds: 300 },
    ca: { crlIntervalSeconds: 3600, crlAfterRevokeSeconds: 2, crlValidityHours: 24, ocspValiditySeconds: 3600, ocspSigner: 'delegated' },
    log: { level: 'info' },
  };
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = isPlain(value) && isPlain(out[key]) ? merge(out[key] as Plain, value) : value;
  }
  return out;
}

export function parseConfigFile(file: string): Plain {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new EgovError('bad-config', `config file ${file} cannot be read: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new EgovError('bad-config', `config file ${file} does not parse: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlain(parsed)) throw new EgovError('bad-config', `config file ${file}: expected a mapping at the top level`);
  return parsed;
}

/** The environment variables that configure the suite, and where each lands. */
export function configFromEnvironment(env: NodeJS.ProcessEnv): Plain {
  const fromEnv: Plain = {};
  if (env.EGOV_OPS_DATA_DIR) fromEnv.dataDir = env.EGOV_OPS_DATA_DIR;
  if (env.EGOV_OPS_DATABASE_URL) fromEnv.database = { url: env.EGOV_OPS_DATABASE_URL };
  const server: Plain = {};
  // Only a plain decimal becomes a number; anything else stays text, so the
  // error shows what was given ("abc"), not NaN (which JSON prints as null).
  if (env.EGOV_OPS_PORT) server.port = /^\s*\d+\s*$/.test(env.EGOV_OPS_PORT) ? Number(env.EGOV_OPS_PORT) : env.EGOV_OPS_PORT;
  if (env.EGOV_OPS_TLS_PORT) server.tlsPort = /^\s*\d+\s*$/.test(env.EGOV_OPS_TLS_PORT) ? Number(env.EGOV_OPS_TLS_PORT) : env.EGOV_OPS_TLS_PORT;
  if (env.EGOV_OPS_PUBLIC_URL) server.publicUrl = env.EGOV_OPS_PUBLIC_URL;
  if (Object.keys(server).length) fromEnv.server = server;
  if (env.EGOV_OPS_LOG_LEVEL) fromEnv.log = { level: env.EGOV_OPS_LOG_LEVEL };
  return fromEnv;
}

export interface ConfigSources {
  /** --config FILE, else EGOV_OPS_CONFIG, else DATA_DIR/config.yaml when present. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, highest precedence. */
  flags?: Plain;
}

function describeExpected(schema: { type?: unknown; pattern?: string; minimum?: number; maximum?: number; anyOf?: unknown[] }): string {
  if (schema.anyOf) return 'one of ' + schema.anyOf.map((s) => JSON.stringify((s as { const: unknown }).const)).join(', ');
  const parts = [String(schema.type ?? 'a value')];
  if (schema.pattern) parts.push(`matching ${schema.pattern}`);
  if (schema.minimum !== undefined) parts.push(`>= ${schema.minimum}`);
  if (schema.maximum !== undefined) parts.push(`<= ${schema.maximum}`);
  return parts.join(' ');
}

/** JSON pointer (`/server/port`) to a dotted key (`server.port`). */
function dottedKey(pointer: string): string {
  return (
    pointer
      .split('/')
      .slice(1)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .join('.') || '(top level)'
  );
}

/**
 * Validates a merged configuration. `origin` says where the values came
 * from; given as a function it is asked about the offending key, so the
 * message can name the one source (file, variable, flag) that set it.
 */
export function validateConfig(candidate: Plain, origin: string | ((key: string) => string)): Config {
  const first = Value.Errors(ConfigSchema, candidate).First();
  if (!first) return candidate as Config;
  const key = dottedKey(first.path);
  const where = typeof origin === 'function' ? origin(key) : origin;
  let message: string;
  if (first.type === ValueErrorType.ObjectAdditionalProperties) {
    const known = Object.keys((first.schema as { properties?: Record<string, unknown> }).properties ?? {});
    message = `config key "${key}" (${where}) is not a known setting; expected one of ${known.join(', ')}`;
  } else if (first.type === ValueErrorType.ObjectRequiredProperty) {
    message = `config key "${key}" (${where}) is required: expected ${describeExpected(first.schema as never)}`;
  } else {
    message = `config key "${key}" (${where}): expected ${describeExpected(first.schema as never)}, got ${describeValue(first.value)}`;
  }
  throw new EgovError('bad-config', message, { key });
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}

/** The value at a dotted key in a plain object, or undefined. */
function lookup(values: Plain, key: string): unknown {
  let at: unknown = values;
  for (const part of key.split('.')) {
    if (!isPlain(at)) return undefined;
    at = at[part];
  }
  return at;
}

const environmentNames: Record<string, string> = {
  dataDir: 'EGOV_OPS_DATA_DIR',
  database: 'EGOV_OPS_DATABASE_URL',
  'database.url': 'EGOV_OPS_DATABASE_URL',
  'server.port': 'EGOV_OPS_PORT',
  'server.tlsPort': 'EGOV_OPS_TLS_PORT',
  'server.publicUrl': 'EGOV_OPS_PUBLIC_URL',
  log: 'EGOV_OPS_LOG_LEVEL',
  'log.level': 'EGOV_OPS_LOG_LEVEL',
};

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const flags = sources.flags ?? {};
  const envValues = configFromEnvironment(env);
  const dataDir = String(flags.dataDir ?? envValues.dataDir ?? './data');
  const file = sources.file ?? env.EGOV_OPS_CONFIG ?? (existsSync(path.join(dataDir, 'config.yaml')) ? path.join(dataDir, 'config.yaml') : undefined);
  const fromFile = file ? parseConfigFile(file) : {};
  const merged = merge(merge(merge(defaultConfig(dataDir) as unknown as Plain, fromFile), envValues), flags);
  // Name the source that set the offending key: the highest-precedence one that has it.
  const origin = (key: string): string => {
    if (lookup(flags, key) !== undefined) return 'from flags';
    if (lookup(envValues, key) !== undefined) return `from environment ${environmentNames[key] ?? ''}`.trimEnd();
    if (file && lookup(fromFile, key) !== undefined) return `from ${file}`;
    return file ? `from ${file}, environment or flags` : 'from environment or flags';
  };
  const config = validateConfig(merged, origin);
  return { ...config, dataDir: path.resolve(config.dataDir) };
}
