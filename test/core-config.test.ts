// Configuration: defaults < file (YAML or JSON) < environment < flags, and
// errors that name the key, where it came from and what was expected.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EgovError, defaultConfig, loadConfig, parseConfigFile, validateConfig, type ConfigSources } from '../core/index.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'egov-ops-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** loadConfig with no ambient environment and the data dir in the temp dir. */
function load(sources: ConfigSources = {}) {
  return loadConfig({ env: {}, ...sources, flags: { dataDir: dir, ...sources.flags } });
}

/** The EgovError that loading throws. */
function loadError(sources: ConfigSources): EgovError {
  try {
    load(sources);
  } catch (error) {
    expect(error).toBeInstanceOf(EgovError);
    expect((error as EgovError).code).toBe('bad-config');
    return error as EgovError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig sources', () => {
  it('gives the defaults when nothing is configured, with an absolute data dir', () => {
    const config = load();
    expect(config).toEqual(defaultConfig(dir));
    expect(config.database.url).toBeUndefined();
    expect(config.server).toEqual({ host: '127.0.0.1', port: 8080, tlsPort: 8443, tlsNames: [], publicUrl: 'http://127.0.0.1:8080' });
    expect(config.log.level).toBe('info');

    const relative = loadConfig({ env: {}, flags: { dataDir: path.relative(process.cwd(), dir) } });
    expect(relative.dataDir).toBe(dir);
  });

  it('reads a YAML file, keeping defaults for what it leaves out', () => {
    const file = write(
      'egov.yaml',
      [
        '# city network, internal side',
        'server:',
        '  host: 0.0.0.0',
        '  port: 8443',
        '  publicUrl: https://ca.example.gov.cn',
        'database:',
        '  url: postgres://egov@db.internal:5432/egov',
        'ca:',
        '  crlIntervalSeconds: 600',
        'log:',
        '  level: debug',
        '',
      ].join('\n'),
    );
    const config = load({ file });
    expect(config.server).toEqual({ host: '0.0.0.0', port: 8443, tlsPort: 8443, tlsNames: [], publicUrl: 'https://ca.example.gov.cn' });
    expect(config.database.url).toBe('postgres://egov@db.internal:5432/egov');
    expect(config.ca).toEqual({ ...defaultConfig().ca, crlIntervalSeconds: 600 });
    expect(config.log.level).toBe('debug');
  });

  it('reads a JSON file', () => {
    const file = write('egov.json', JSON.stringify({ server: { port: 9000 }, ca: { ocspValiditySeconds: 600, crlAfterRevokeSeconds: 0.5 } }));
    const config = load({ file });
    expect(config.server.port).toBe(9000);
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.ca.ocspValiditySeconds).toBe(600);
    expect(config.ca.crlAfterRevokeSeconds).toBe(0.5);
  });

  it('finds DATA_DIR/config.yaml by itself, or the file named by EGOV_OPS_CONFIG', () => {
    write('config.yaml', 'server:\n  port: 9001\n');
    expect(load().server.port).toBe(9001);

    const other = write('other.json', '{"server": {"port": 9002}}');
    expect(load({ env: { EGOV_OPS_CONFIG: other } }).server.port).toBe(9002);
    // An explicit file wins over EGOV_OPS_CONFIG.
    const explicit = write('explicit.yaml', 'server: {port: 9003}\n');
    expect(load({ file: explicit, env: { EGOV_OPS_CONFIG: other } }).server.port).toBe(9003);
  });

  it('treats an empty file as no settings', () => {
    expect(load({ file: write('empty.yaml', '') })).toEqual(defaultConfig(dir));
    expect(load({ file: write('comments.yaml', '# nothing yet\n') })).toEqual(defaultConfig(dir));
  });

  it('lets the environment override the file', () => {
    const file = write('egov.yaml', 'server:\n  port: 9000\n  publicUrl: http://file.example\ndatabase:\n  url: postgres://file/egov\nlog:\n  level: warn\n');
    const config = load({
      file,
      env: {
        EGOV_OPS_PORT: '9100',
        EGOV_OPS_PUBLIC_URL: 'https://env.example',
        EGOV_OPS_DATABASE_URL: 'postgresql://env/egov',
        EGOV_OPS_LOG_LEVEL: 'error',
      },
    });
    expect(config.server).toEqual({ host: '127.0.0.1', port: 9100, tlsPort: 8443, tlsNames: [], publicUrl: 'https://env.example' });
    expect(config.database.url).toBe('postgresql://env/egov');
    expect(config.log.level).toBe('error');

    // EGOV_OPS_DATA_DIR sets the data dir (and so where config.yaml is looked for).
    const envDir = path.join(dir, 'from-env');
    const fromEnv = loadConfig({ env: { EGOV_OPS_DATA_DIR: envDir } });
    expect(fromEnv.dataDir).toBe(envDir);
  });

  it('lets flags override the environment', () => {
    const file = write('egov.yaml', 'server:\n  port: 9000\n');
    const config = load({
      file,
      env: { EGOV_OPS_PORT: '9100', EGOV_OPS_LOG_LEVEL: 'error', EGOV_OPS_DATA_DIR: path.join(dir, 'env') },
      flags: { server: { port: 9200 }, log: { level: 'trace' } },
    });
    expect(config.server.port).toBe(9200);
    expect(config.log.level).toBe('trace');
    expect(config.dataDir).toBe(dir);
  });
});

describe('loadConfig errors', () => {
  it('names the key, the file and what was expected for server.port: "abc"', () => {
    const file = write('egov.yaml', 'server:\n  port: abc\n');
    const error = loadError({ file });
    expect(error.message).toContain('"server.port"');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/expected integer >= 0 <= 65535, got "abc"/);
    expect(error.details).toEqual({ key: 'server.port' });
  });

  it('names the variable when the bad value came from the environment', () => {
    const error = loadError({ env: { EGOV_OPS_PORT: 'abc' } });
    expect(error.message).toContain('"server.port"');
    expect(error.message).toContain('EGOV_OPS_PORT');
    expect(error.message).toContain('got "abc"');

    const range = loadError({ env: { EGOV_OPS_PORT: '70000' } });
    expect(range.message).toMatch(/expected integer >= 0 <= 65535, got 70000/);
  });

  it('names an unknown key and the keys that are known there', () => {
    const nested = loadError({ file: write('egov.yaml', 'server:\n  prot: 8443\n') });
    expect(nested.message).toContain('"server.prot"');
    expect(nested.message).toContain('is not a known setting');
    expect(nested.message).toContain('host, port, tlsPort, tlsNames, publicUrl');
    expect(nested.details).toEqual({ key: 'server.prot' });

    const top = loadError({ file: write('top.json', '{"listen": 1}') });
    expect(top.message).toContain('"listen"');
    expect(top.message).toContain('dataDir, database, server, ca, access, ra, metrics, monitor, log');
  });

  it('rejects a database URL that is not PostgreSQL', () => {
    const fromFile = loadError({ file: write('egov.yaml', 'database:\n  url: mysql://x\n') });
    expect(fromFile.message).toContain('"database.url"');
    expect(fromFile.message).toContain('^postgres(ql)?://');
    expect(fromFile.message).toContain('"mysql://x"');

    const fromEnv = loadError({ env: { EGOV_OPS_DATABASE_URL: 'mysql://x' } });
    expect(fromEnv.message).toContain('EGOV_OPS_DATABASE_URL');
  });

  it('lists the allowed values of an enumeration', () => {
    const error = loadError({ flags: { log: { level: 'loud' } } });
    expect(error.message).toContain('"log.level" (from flags)');
    expect(error.message).toContain('one of "fatal", "error", "warn", "info", "debug", "trace", "silent"');
    expect(error.message).toContain('got "loud"');
  });

  it('rejects values out of range and of the wrong shape', () => {
    expect(loadError({ flags: { ca: { crlIntervalSeconds: 1 } } }).message).toMatch(/"ca.crlIntervalSeconds".*expected integer >= 10/);
    expect(loadError({ flags: { ca: { crlValidityHours: 1.5 } } }).message).toMatch(/"ca.crlValidityHours".*expected integer/);
    expect(loadError({ file: write('shape.yaml', 'server: everywhere\n') }).message).toMatch(/"server".*expected object, got "everywhere"/);
    expect(loadError({ flags: { server: { publicUrl: 'ca.example' } } }).message).toMatch(/"server.publicUrl".*matching/);
  });

  it('reports a YAML file that does not parse', () => {
    const file = write('broken.yaml', 'server:\n  port: [8080\n');
    const error = loadError({ file });
    expect(error.message).toContain(file);
    expect(error.message).toContain('does not parse');
    expect(error.message).not.toContain('\n');
  });

  it('reports a JSON file that does not parse', () => {
    const file = write('broken.json', '{"server": {"port": 8080}');
    const error = loadError({ file });
    expect(error.message).toContain(file);
    expect(error.message).toContain('does not parse');
  });

  it('reports a file that is a list or a scalar, not a mapping', () => {
    for (const [name, text] of [
      ['list.yaml', '- server\n- port\n'],
      ['list.json', '[1, 2]'],
      ['scalar.yaml', 'just words\n'],
    ] as const) {
      const error = loadError({ file: write(name, text) });
      expect(error.message).toContain('expected a mapping at the top level');
      expect(error.message).toContain(name);
    }
  });

  it('reports a file that cannot be read', () => {
    const error = loadError({ file: path.join(dir, 'missing.yaml') });
    expect(error.message).toContain('cannot be read');
    expect(error.message).toContain('missing.yaml');
  });
});

describe('validateConfig and parseConfigFile', () => {
  it('validate returns a good config and names the origin it is given', () => {
    const good = defaultConfig('/srv/egov');
    expect(validateConfig(good as never, 'test')).toEqual(good);
    expect(() => validateConfig({ ...good, server: { ...good.server, port: -1 } } as never, 'from the test')).toThrow(
      /config key "server.port" \(from the test\): expected integer >= 0/,
    );
  });

  it('parseConfigFile reads YAML and JSON into plain objects', () => {
    expect(parseConfigFile(write('a.yaml', 'server:\n  port: 1\n'))).toEqual({ server: { port: 1 } });
    expect(parseConfigFile(write('a.json', '{"log": {"level": "warn"}}'))).toEqual({ log: { level: 'warn' } });
  });
});
