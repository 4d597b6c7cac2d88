// `egov-ops alerts ...` and `egov-ops maintenance ...`: list, show,
// acknowledge, resolve and silence alerts; the rules; a test message to a
// receiver; receivers (list, add with secrets from a file or the environment,
// remove); maintenance windows. Every state change is audited.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EgovError, exitCodes, openDatabase, openSecretBox, type Config } from '../core/index.js';
import { openMonitor } from '../monitor/index.js';
import { ALERT_SEVERITIES, ALERT_STATES, AlertService, checkReceiver, describeRule, parseDuration, parseMatcher, RECEIVER_TYPES, SEVERITY_NAMES, type Alert, type AlertSeverity, type AlertState, type ReceiverInput, type ReceiverType } from '../monitor/alerts/index.js';
import { KnowledgeBase } from '../monitor/kb/index.js';
import { cliActor, outputFor, resolveConfig, type GlobalOptions } from './context.js';
import { metricsOptions } from './monitor.js';

/** The alert service over the configured database, with the knowledge base (what `serve` runs, without the timer). */
export async function withAlerts<T>(config: Config, work: (alerts: AlertService) => Promise<T>): Promise<T> {
  const database = await openDatabase({ dataDir: config.dataDir, url: config.database.url });
  try {
    const secrets = openSecretBox(config.dataDir);
    const monitor = await openMonitor({ database, secrets, metrics: metricsOptions(config) });
    try {
      const alerts = new AlertService({
        database,
        monitor,
        secrets,
        kb: new KnowledgeBase(database),
        ...(config.alerts?.rulesFile ? { rulesFile: path.resolve(config.alerts.rulesFile) } : {}),
        ...(config.alerts?.externalUrl ? { externalUrl: config.alerts.externalUrl } : {}),
        staleAfterMs: config.monitor.staleAfterSeconds * 1000,
      });
      try {
        return await work(alerts);
      } finally {
        await alerts.stop();
      }
    } finally {
      await monitor.close();
    }
  } finally {
    await database.close();
  }
}

const alertLine = (a: Alert) =>
  `${String(a.id).padStart(5)}  ${a.state.padEnd(12)} ${`${a.severity}/${SEVERITY_NAMES[a.severity]['zh-CN']}`.padEnd(12)} ${a.rule.padEnd(22)} ${(a.node ?? '-').padEnd(16)} ${a.firedAt ?? a.startedAt}  ${a.summary}${a.foldedInto ? `  (folded into ${a.foldedInto})` : ''}${a.mutedBy ? `  [${a.mutedBy}]` : ''}`;

const alertId = (text: string): number => {
  if (!/^\d{1,15}$/.test(text)) throw new EgovError('bad-request', `alert ID must be a number (got ${JSON.stringify(text)})`);
  return Number(text);
};

interface ReceiverAddOptions {
  kind: string;
  url?: string;
  language?: string;
  rate?: string;
  severities?: string;
  host?: string;
  port?: string;
  from?: string;
  to?: string;
  user?: string;
  tlsCaFile?: string;
  secretFile?: string;
  secretEnv?: string;
  tokenFile?: string;
  tokenEnv?: string;
  passwordFile?: string;
  passwordEnv?: string;
}

/** A secret from a file (its first line) or an environment variable; never both. */
function secretFrom(what: string, file: string | undefined, env: string | undefined): string | undefined {
  if (file && env) throw new EgovError('bad-request', `--${what}-file and --${what}-env: give one of them`);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new EgovError('bad-request', `--${what}-file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    const value = text.replace(/\r?\n$/, '');
    if (!value) throw new EgovError('bad-request', `--${what}-file ${file} is empty`);
    return value;
  }
  if (env) {
    const value = process.env[env];
    if (value === undefined || value === '') throw new EgovError('bad-request', `--${what}-env ${env}: that environment variable is not set`);
    return value;
  }
  return undefined;
}

const wholeNumber = (text: string | undefined, option: string, min: number, max: number): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) throw new EgovError('bad-request', `${option} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)})`);
  return Number(text);
};

/** The command line's receiver, checked as the API checks it (checkReceiver), plus what only a command line can get wrong. */
export function receiverInput(name: string, o: ReceiverAddOptions): ReceiverInput {
  if (!(RECEIVER_TYPES as readonly string[]).includes(o.kind)) throw new EgovError('bad-request', `--kind must be one of ${RECEIVER_TYPES.join(', ')} (got ${JSON.stringify(o.kind)})`);
  if (o.url !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(o.url);
    } catch {
      /* checkReceiver names it */
    }
    if (url && (url.username || url.password)) throw new EgovError('bad-request', `--url: put no credentials in the URL (they would be stored in clear); use --password-file or --token-file`);
  }
  const severities = o.severities?.split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of severities ?? []) if (!(ALERT_SEVERITIES as readonly string[]).includes(x)) throw new EgovError('bad-request', `--severities: ${JSON.stringify(x)} is not one of ${ALERT_SEVERITIES.join(', ')}`);
  let tlsCa: string | undefined;
  if (o.tlsCaFile) {
    try {
      tlsCa = readFileSync(o.tlsCaFile, 'utf8');
    } catch (error) {
      throw new EgovError('bad-request', `--tls-ca-file ${o.tlsCaFile}: ${(error as Error).message}`);
    }
    if (!tlsCa.includes('-----BEGIN CERTIFICATE-----')) throw new EgovError('bad-request', `--tls-ca-file ${o.tlsCaFile} holds no PEM certificate`);
  }
  const rate = wholeNumber(o.rate, '--rate', 0, 100_000);
  const port = wholeNumber(o.port, '--port', 1, 65535);
  const secret = secretFrom('secret', o.secretFile, o.secretEnv);
  const token = secretFrom('token', o.tokenFile, o.tokenEnv);
  const password = secretFrom('password', o.passwordFile, o.passwordEnv);
  const input: ReceiverInput = {
    name,
    type: o.kind as ReceiverType,
    ...(o.url !== undefined ? { url: o.url } : {}),
    ...(o.language !== undefined ? { language: o.language as 'en' | 'zh-CN' } : {}),
    ...(rate !== undefined ? { ratePerMinute: rate } : {}),
    ...(severities ? { severities: severities as AlertSeverity[] } : {}),
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(o.from !== undefined ? { from: o.from } : {}),
    ...(o.to !== undefined ? { to: o.to.split(',').map((x) => x.trim()).filter(Boolean) } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(tlsCa !== undefined ? { tlsCa } : {}),
    ...(secret !== undefined ? { secret } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(password !== undefined ? { password } : {}),
  };
  checkReceiver(input);
  return input;
}

/** Adds `alerts ...` and `maintenance ...` to the egov-ops program. */
export function registerAlertsCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = outputFor(program);
  const run = <T>(work: (alerts: AlertService) => Promise<T>) => withAlerts(resolveConfig(globals()), work);

  const alerts = program.command('alerts').description('alerts: what fires, acknowledgement, resolution, silences, rules, receivers');

  alerts
    .command('list')
    .description('alerts, live ones first (most severe first)')
    .option('--state <state>', `only this state: ${ALERT_STATES.join('|')}`)
    .option('--limit <n>', 'at most this many', (v) => Number(v), 200)
    .action(async (o: { state?: string; limit: number }) => {
      if (o.state && !ALERT_STATES.includes(o.state as AlertState)) throw new EgovError('bad-request', `--state must be one of ${ALERT_STATES.join(', ')} (got ${JSON.stringify(o.state)})`);
      await run(async (service) => {
        const list = await service.list({ ...(o.state ? { state: o.state as AlertState } : {}), limit: o.limit });
        out({ alerts: list }, () => list.map(alertLine).join('\n') || 'no alerts');
      });
    });

  alerts
    .command('show <id>')
    .description('one alert: its timeline, the knowledge-base articles that apply, and when it was seen before')
    .action(async (id: string) =>
      run(async (service) => {
        const detail = await service.detail(alertId(id));
        if (!detail) throw new EgovError('not-found', `no alert ${id}`);
        out(detail, () =>
          [
            alertLine(detail.alert),
            ...(detail.folded ? [`  ${detail.folded} alerts folded into it`] : []),
            ...(detail.alert.ackBy ? [`  acknowledged by ${detail.alert.ackBy} at ${detail.alert.ackAt}: ${detail.alert.ackComment}`] : []),
            'timeline:',
            ...detail.timeline.map((t) => `  ${t.at}  ${t.kind.padEnd(14)} ${t.actor}  ${t.text}`),
            'knowledge base:',
            ...(detail.articles.length ? detail.articles.map((a) => `  ${a.id}  ${a.title}${a.titleZh ? ` / ${a.titleZh}` : ''}  (${a.reasons.join(', ')})`) : ['  no matching article']),
            `seen before: ${detail.seenBefore ? `${detail.seenBefore.count} times` : 'unknown'}`,
            ...(detail.seenBefore?.incidents ?? []).map((i) => `  ${i.startedAt} -> ${i.resolvedAt} (${Math.round(i.durationMs / 60_000)} min) by ${i.by}${i.note ? `: ${i.note}` : ''}`),
          ].join('\n'),
        );
      }),
    );

  alerts
    .command('ack <id>')
    .description('acknowledge a firing alert (lasts until it resolves)')
    .requiredOption('--comment <text>', 'what is being done')
    .action(async (id: string, o: { comment: string }) =>
      run(async (service) => {
        const alert = await service.acknowledge(alertId(id), o.comment, cliActor());
        out(alert, () => `alert ${alert.id} acknowledged`);
      }),
    );

  alerts
    .command('resolve <id>')
    .description('resolve an alert by hand; the note is kept in the knowledge base as how it was fixed')
    .requiredOption('--note <text>', 'what was done')
    .action(async (id: string, o: { note: string }) =>
      run(async (service) => {
        const alert = await service.resolve(alertId(id), o.note, cliActor());
        await service.notifier.drain(15_000);
        out(alert, () => `alert ${alert.id} resolved`);
      }),
    );

  alerts
    .command('silence')
    .description('silence alerts whose labels match (alertname, severity, node, site, zone and the rule labels)')
    .requiredOption('--match <KEY=VALUE...>', 'label matchers (KEY=VALUE or KEY=~REGEX), all must match')
    .requiredOption('--for <duration>', 'how long: 30m, 2h, 1d')
    .requiredOption('--reason <text>', 'why')
    .action(async (o: { match: string[]; for: string; reason: string }) =>
      run(async (service) => {
        const silence = await service.silence({ matchers: o.match.map(parseMatcher), forMs: parseDuration(o.for, '--for'), reason: o.reason }, cliActor());
        out(silence, () => `silence ${silence.id} until ${silence.endsAt}`);
      }),
    );

  alerts
    .command('rules')
    .description('the rules in force: built-in ones and those of alerts.rulesFile')
    .action(async () =>
      run(async (service) => {
        const rules = service.rules.rules.map(describeRule);
        out({ rules, routes: service.rules.routes, escalations: service.rules.escalations }, () =>
          rules.map((r) => `${String(r.name).padEnd(24)} ${String(r.kind).padEnd(16)} ${`${r.severity}/${r.severityZh}`.padEnd(14)} for ${String(r.for).padEnd(6)} ${r.enabled ? '' : '(disabled) '}${(r.description as { en: string }).en}`).join('\n'),
        );
      }),
    );

  alerts
    .command('test-receiver <name>')
    .description('send a test message to a receiver now and show its answer')
    .action(async (name: string) =>
      run(async (service) => {
        const result = await service.testReceiver(name, cliActor());
        out(result, () => `${result.ok ? 'sent' : 'FAILED'}: ${result.answer}`);
        if (!result.ok) process.exitCode = exitCodes.unavailable;
      }),
    );

  // Receivers: listed without their secrets; added with secrets read from a file or an environment
  // variable (never a value on the command line, where ps and the shell history would show it), sealed at rest.
  const receivers = alerts.command('receivers').description('the receivers notifications go to (secrets sealed, never shown)');
  receivers
    .command('list')
    .description('the receivers: kind, where to, rate, which secrets are set (never their values)')
    .action(async () =>
      run(async (service) => {
        const list = await service.notifier.receivers();
        out({ receivers: list }, () =>
          list.map((r) => `${r.name.padEnd(20)} ${r.type.padEnd(13)} ${(r.url ?? (r.host ? `smtp://${r.host}:${r.port ?? 587} -> ${(r.to ?? []).join(', ')}` : '-')).padEnd(48)} ${r.ratePerMinute !== undefined ? `${r.ratePerMinute}/min` : 'default rate'}${r.language ? `  ${r.language}` : ''}${r.secrets.length ? `  secrets: ${r.secrets.join(', ')}` : ''}`).join('\n') || 'no receivers',
        );
      }),
    );
  receivers
    .command('add <name>')
    .description('add or replace a receiver; secrets come from --*-file or --*-env, never from the command line')
    .requiredOption('--kind <kind>', `${RECEIVER_TYPES.join('|')}`)
    .option('--url <url>', 'webhook, wecom, dingtalk, feishu: the endpoint; alertmanager: its base URL (http or https)')
    .option('--language <lang>', 'zh-CN (default) or en')
    .option('--rate <n>', 'messages a minute at most (robots: 20 by default; 0 = no limit)')
    .option('--severities <list>', 'only these severities, comma-separated (default all)')
    .option('--host <host>', 'email: the SMTP relay (STARTTLS)')
    .option('--port <n>', 'email: its port (default 587)')
    .option('--from <address>', 'email: the sender')
    .option('--to <addresses>', 'email: the recipients, comma-separated')
    .option('--user <name>', 'email: the SMTP user')
    .option('--tls-ca-file <file>', 'email: PEM of the CA that signed the relay\'s certificate')
    .option('--secret-file <file>', 'dingtalk/feishu signing secret, or the WeCom robot key, read from this file')
    .option('--secret-env <var>', '... or from this environment variable')
    .option('--token-file <file>', 'dingtalk access_token / feishu hook token, read from this file')
    .option('--token-env <var>', '... or from this environment variable')
    .option('--password-file <file>', 'email: the SMTP password; webhook: a bearer token, read from this file')
    .option('--password-env <var>', '... or from this environment variable')
    .action(async (name: string, o: ReceiverAddOptions) => {
      const input = receiverInput(name, o);
      await run(async (service) => {
        const view = await service.putReceiver(input, cliActor());
        out(view, () => `receiver ${view.name} (${view.type}) saved${view.secrets.length ? `; secrets sealed: ${view.secrets.join(', ')}` : ''}`);
      });
    });
  receivers
    .command('remove <name>')
    .description('remove a receiver (what was still queued for it is recorded as failed)')
    .action(async (name: string) =>
      run(async (service) => {
        const result = await service.removeReceiver(name, cliActor());
        out(result, () => `receiver ${result.name} removed${result.dropped ? ` (${result.dropped} queued deliveries recorded as failed)` : ''}`);
      }),
    );

  const maintenance = program.command('maintenance').description('maintenance windows: alerts inside are recorded, not notified');
  maintenance
    .command('add')
    .description('a one-off (--from/--to) or recurring (--cron/--duration) window for a node, site or zone')
    .option('--node <name>')
    .option('--site <site>')
    .option('--zone <zone>')
    .option('--from <time>', 'start, ISO 8601 (2026-12-07T22:00:00+08:00)')
    .option('--to <time>', 'end, ISO 8601')
    .option('--cron <expr>', 'recurring start (five cron fields, local time)')
    .option('--duration <d>', 'length of each recurring window: 2h, 90m')
    .requiredOption('--reason <text>', 'why')
    .action(async (o: { node?: string; site?: string; zone?: string; from?: string; to?: string; cron?: string; duration?: string; reason: string }) => {
      const scopes = (['node', 'site', 'zone'] as const).filter((k) => o[k] !== undefined);
      if (scopes.length !== 1) throw new EgovError('bad-request', 'give exactly one of --node, --site, --zone');
      const scope = scopes[0]!;
      await run(async (service) => {
        const w = await service.addMaintenance(
          { scope, target: o[scope]!, ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}), ...(o.cron ? { cron: o.cron } : {}), ...(o.duration ? { durationMs: parseDuration(o.duration, '--duration') } : {}), reason: o.reason },
          cliActor(),
        );
        out(w, () => `maintenance window ${w.id} for ${w.scope} ${w.target}: ${w.cron ? `${w.cron} for ${w.durationMs! / 60_000} min` : `${w.startsAt} - ${w.endsAt}`}`);
      });
    });
  maintenance
    .command('list')
    .description('the maintenance windows')
    .action(async () =>
      run(async (service) => {
        const windows = await service.engine.maintenance();
        out({ windows }, () => windows.map((w) => `${String(w.id).padStart(4)}  ${w.scope.padEnd(5)} ${w.target.padEnd(20)} ${w.cron ? `${w.cron} (${w.durationMs! / 60_000} min)` : `${w.startsAt} - ${w.endsAt}`}  ${w.createdBy}: ${w.reason}`).join('\n') || 'no maintenance windows');
      }),
    );
  return alerts;
}
