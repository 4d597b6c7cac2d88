// Reports of a run: JSON (everything kept), CSV (one row per item), HTML
// (Chinese or English, self-contained) and PDF (the HTML printed by Debian's
// chromium with the Noto CJK fonts). Each names the system, level, date,
// score and conclusion with its rule and template, high risks, results per
// category, every item with its evidence, and the trend of earlier runs.

import { existsSync } from 'node:fs';
import { EgovError } from '../core/index.js';
import type { RunView } from './service.js';

export const REPORT_FORMATS = ['html', 'pdf', 'json', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export type ReportLanguage = 'zh-CN' | 'en';
export interface TrendPoint {
  id: number;
  startedAt: string;
  score: number | null;
  conclusion: string;
  highRisks: number;
}

export function parseFormat(text: string): ReportFormat {
  if (!(REPORT_FORMATS as readonly string[]).includes(text)) throw new EgovError('bad-request', `--format must be one of ${REPORT_FORMATS.join(', ')}, not ${JSON.stringify(text)}`);
  return text as ReportFormat;
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STATUS_TEXT: Record<string, { zh: string; en: string }> = {
  pass: { zh: '符合', en: 'pass' },
  partial: { zh: '部分符合', en: 'partial' },
  fail: { zh: '不符合', en: 'fail' },
  na: { zh: '不适用', en: 'not applicable' },
  'manual-pending': { zh: '待人工核查', en: 'manual, pending' },
  error: { zh: '采集出错', en: 'error' },
};

export function statusText(status: string, lang: ReportLanguage): string {
  return STATUS_TEXT[status]?.[lang === 'en' ? 'en' : 'zh'] ?? status;
}

export function reportJson(run: RunView, trend: TrendPoint[]): string {
  return JSON.stringify({ report: 'grade-protection self-assessment', ...run, trend }, null, 2) + '\n';
}

const csvCell = (v: unknown) => {
  const s = String(v ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** A remedy as a reader finds it: the runbook to run, or the knowledge-base article to open. */
export function remedyText(r: { kind: 'runbook' | 'kb'; id: string }, lang: ReportLanguage): string {
  const zh = lang !== 'en';
  return r.kind === 'runbook' ? `${zh ? '运维手册' : 'runbook'} ${r.id} (egov-ops playbook run ${r.id})` : `${zh ? '知识库文章' : 'knowledge-base article'} ${r.id} (/kb/articles/${r.id})`;
}

export function reportCsv(run: RunView): string {
  const head = ['run', 'system', 'level', 'code', 'category', 'control_point', 'requirement_zh', 'requirement_en', 'weight', 'status', 'basis', 'high_risks', 'waived_until', 'evidence', 'hints', 'remedies'];
  const rows = run.results.map((r) => [
    run.id, run.system, run.level, r.code, r.category, r.controlPoint.zh, r.zh, r.en, r.weight, r.status, r.basis, r.highRisks.join(' '), r.waiver?.validUntil ?? '',
    r.checks.map((c) => `${c.collector}@${c.target} ${c.status}: ${c.summary} [${c.evidence.map((e) => `${e.source}${e.line ? `:${e.line}` : ''} ${e.text}`).join(' | ')}]`).join(' ;; '),
    r.hints.join(' ; '),
    (r.remedies ?? []).map((m) => `${m.kind}:${m.id}`).join(' '),
  ]);
  return [head, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export function reportHtml(run: RunView, trend: TrendPoint[], lang: ReportLanguage = 'zh-CN'): string {
  const zh = lang !== 'en';
  const t = (z: string, e: string) => (zh ? z : e);
  const s = run.summary;
  const risks = s.highRisks.length
    ? `<ul>${s.highRisks.map((h) => `<li><strong>${esc(zh ? h.zh : h.en)}</strong> — ${esc(h.items.join(', '))}${h.targets.length ? ` (${esc(h.targets.join(', '))})` : ''}${h.waived ? ` <em>${t('已接受（豁免）', 'accepted (waived)')}</em>` : ''}</li>`).join('')}</ul>`
    : `<p>${t('未发现高风险问题。', 'No high risk found.')}</p>`;
  const categories = s.categories
    .map((c) => `<tr><td>${esc(zh ? c.zh : c.en)} (${c.code})</td><td class="num">${c.score ?? '-'}</td>${(['pass', 'partial', 'fail', 'na', 'manual-pending', 'error'] as const).map((k) => `<td class="num">${c.counts[k]}</td>`).join('')}</tr>`)
    .join('');
  const trendRows = trend.map((p) => `<tr><td>#${p.id}</td><td>${esc(p.startedAt.slice(0, 16).replace('T', ' '))}</td><td class="num">${p.score ?? '-'}</td><td>${esc(p.conclusion)}</td><td class="num">${p.highRisks}</td></tr>`).join('');
  const items = run.results
    .map((r) => {
      const evidence = r.checks
        .map((c) => `<div class="check ${esc(c.status)}"><b>${esc(c.collector)}</b> @ ${esc(c.target)}: ${esc(statusText(c.status, lang))} — ${esc(c.summary)} <small>(v${esc(c.version)}, ${esc(c.at)})</small>${c.evidence.length ? `<pre>${esc(c.evidence.map((e) => `${e.source}${e.line ? `:${e.line}` : ''}  ${e.text}`).join('\n'))}</pre>` : ''}</div>`)
        .join('');
      const att = r.attestation ? `<div>${t('核查记录', 'attestation')}: ${esc(statusText(r.attestation.result ?? '', lang))} — ${esc(r.attestation.note)} (${esc(r.attestation.recordedBy)}, ${t('有效至', 'valid until')} ${esc(r.attestation.validUntil.slice(0, 10))})${r.attestation.attachments.length ? ` ${t('附件', 'attachments')}: ${r.attestation.attachments.map((a) => esc(a.slice(0, 12))).join(', ')}` : ''}</div>` : '';
      const waiver = r.waiver ? `<div>${t('豁免', 'waiver')}: ${esc(r.waiver.note)} (${esc(r.waiver.recordedBy)}, ${t('有效至', 'until')} ${esc(r.waiver.validUntil.slice(0, 10))})</div>` : '';
      const hints = r.hints.length ? `<div class="hint">${t('整改建议', 'remediation')}: ${esc(r.hints.join('; '))}</div>` : '';
      const fixes = r.remedies?.length ? `<div class="hint remedies">${t('整改参考', 'fixed by')}: ${esc(r.remedies.map((m) => remedyText(m, lang)).join('; '))}</div>` : '';
      return `<tr class="${esc(r.status)}"><td class="code">${esc(r.code)}</td><td>${esc(zh ? r.controlPoint.zh : r.controlPoint.en)}</td><td>${esc(zh ? r.zh : r.en)}${evidence}${att}${waiver}${hints}${fixes}<div class="basis">${esc(r.basis)}</div></td><td>${esc(statusText(r.status, lang))}</td></tr>`;
    })
    .join('');
  return `<!doctype html>
<html lang="${zh ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><title>${t('等级保护自评估报告', 'Grade-protection self-assessment')} — ${esc(run.system)} #${run.id}</title>
<style>
body{font-family:"Noto Sans CJK SC","Noto Serif CJK SC","Noto Sans",sans-serif;font-size:11px;margin:24px;color:#111}
h1{font-size:20px}h2{font-size:15px;margin-top:20px;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%}th,td.code{white-space:nowrap}td,th{border:1px solid #bbb;padding:3px 5px;vertical-align:top;text-align:left}
.num{text-align:right}.label{background:#fff3cd;border:1px solid #e0c060;padding:6px;margin:8px 0}
tr.fail td:last-child{color:#b00020;font-weight:bold}tr.partial td:last-child{color:#a05a00}tr.pass td:last-child{color:#106010}
pre{white-space:pre-wrap;margin:2px 0;font-size:9px;background:#f5f5f5;padding:2px}.check{margin-top:3px}.basis{color:#666;font-size:9px}.hint{color:#804000}
.big{font-size:28px;font-weight:bold}
</style></head><body>
<h1>${t('网络安全等级保护自评估报告', 'Grade-protection (MLPS 2.0) self-assessment report')}</h1>
<div class="label">${esc(zh ? s.scoring.label.zh : s.scoring.label.en)}</div>
<table>
<tr><th>${t('定级对象', 'system under evaluation')}</th><td>${esc(run.system)}</td><th>${t('安全保护等级', 'level')}</th><td>${t(`第${run.level === 3 ? '三' : '二'}级`, `level ${run.level}`)}</td></tr>
<tr><th>${t('评估时间', 'date')}</th><td>${esc(run.startedAt.replace('T', ' ').slice(0, 19))} UTC</td><th>${t('评估编号', 'run')}</th><td>#${run.id} (${esc(run.startedBy)})</td></tr>
<tr><th>${t('综合得分', 'score')}</th><td class="big">${run.score ?? '-'}</td><th>${t('结论', 'conclusion')}</th><td class="big">${esc(run.conclusion)} <small>${esc(s.conclusion.en)}</small></td></tr>
<tr><th>${t('评分依据', 'scoring')}</th><td colspan="3">${esc(zh ? s.scoring.name.zh : s.scoring.name.en)} (${esc(s.scoring.template)})：${esc(zh ? s.scoring.rule.zh : s.scoring.rule.en)}</td></tr>
<tr><th>${t('资产', 'assets')}</th><td colspan="3">${s.assets.suite ? t('本系统（egov-ops）', 'the suite (egov-ops)') : ''} ${t('网络节点', 'inventory nodes')} ${s.assets.nodes}; ${t('主机', 'hosts')} ${esc(s.assets.hosts.join(', ') || '-')}${s.hostErrors.length ? `; ${t('无法读取', 'not read')}: ${esc(s.hostErrors.map((e) => `${e.host}: ${e.message}`).join('; '))}` : ''}</td></tr>
</table>
<h2>${t('高风险问题', 'High risks')} (${s.highRisks.length})</h2>${risks}
<h2>${t('各安全类结果', 'Results per category')}</h2>
<table><tr><th>${t('安全类', 'category')}</th><th>${t('得分', 'score')}</th><th>${t('符合', 'pass')}</th><th>${t('部分符合', 'partial')}</th><th>${t('不符合', 'fail')}</th><th>${t('不适用', 'n/a')}</th><th>${t('待人工核查', 'manual pending')}</th><th>${t('出错', 'error')}</th></tr>${categories}</table>
<h2>${t('历次评估趋势', 'Trend against earlier audits')}</h2>
<table><tr><th>${t('编号', 'run')}</th><th>${t('时间', 'date')}</th><th>${t('得分', 'score')}</th><th>${t('结论', 'conclusion')}</th><th>${t('高风险', 'high risks')}</th></tr>${trendRows}</table>
<h2>${t('测评项结果', 'Every item')} (${run.results.length})</h2>
<table><tr><th>${t('编号', 'code')}</th><th>${t('控制点', 'control point')}</th><th>${t('要求与证据', 'requirement and evidence')}</th><th>${t('结果', 'result')}</th></tr>${items}</table>
</body></html>
`;
}

export const CHROMIUM = process.env.EGOV_CHROMIUM ?? '/usr/bin/chromium';

/** The HTML report printed to PDF by chromium (A4, backgrounds). */
export async function reportPdf(html: string): Promise<Buffer> {
  if (!existsSync(CHROMIUM)) throw new EgovError('unavailable', `chromium not found at ${CHROMIUM} (install Debian's chromium, or set EGOV_CHROMIUM)`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({ format: 'A4', printBackground: true, margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' } });
  } finally {
    await browser.close();
  }
}
