// The files the project ships under deploy/ (docs/deployment.md): the
// /etc/egov-ops config and agent config load as they are, and the systemd
// units start commands that exist.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig, monitorUrls } from '../agents/index.js';
import { loadConfig } from '../core/index.js';

const deploy = path.resolve('deploy');

describe('deploy/', () => {
  it('ships an /etc/egov-ops/config.yaml that loads, on PostgreSQL and InfluxDB', () => {
    const config = loadConfig({ file: path.join(deploy, 'etc/egov-ops/config.yaml'), env: {} });
    expect(config.database.url).toMatch(/^postgres:\/\//);
    expect(config.metrics?.influx?.url).toMatch(/^http/);
    expect(config.server.host).toBe('0.0.0.0');
  });

  it('ships an agent config with several monitor URLs', () => {
    const agent = loadAgentConfig(path.join(deploy, 'etc/egov-ops/agents/internal.yaml'));
    expect(monitorUrls(agent)).toHaveLength(3);
  });

  it('ships systemd units that run the built CLI with its real commands', () => {
    const serve = readFileSync(path.join(deploy, 'systemd/egov-ops.service'), 'utf8');
    const agent = readFileSync(path.join(deploy, 'systemd/egov-ops-agent@.service'), 'utf8');
    expect(serve).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/egov-ops\/dist\/egov-ops\/main\.js .*serve$/m);
    expect(serve).toMatch(/^EnvironmentFile=\/etc\/egov-ops\/environment$/m);
    expect(agent).toMatch(/^ExecStart=.*main\.js agent --config \/etc\/egov-ops\/agents\/%i\.yaml$/m);
    const cli = readFileSync(path.resolve('cli/main.ts'), 'utf8');
    expect(cli).toContain("'--passphrase-file'");
  });
});
