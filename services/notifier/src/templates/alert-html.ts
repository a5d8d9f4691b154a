import { html, type SafeHtml, safeUrl } from '../escape.js';
import { type EmailView, failuresHeading, followUpListed, SEVERITY_COLOR } from './view.js';

const cell = 'padding:4px 12px 4px 0;vertical-align:top;';
const mono = 'font-family:SFMono-Regular,Consolas,Menlo,monospace;font-size:12px;';

function rows(pairs: Array<[string, string]>): SafeHtml {
  return html`<table style="border-collapse:collapse;font-size:14px;">${pairs.map(
    ([k, v]) =>
      html`<tr><td style="${cell}color:#475467;white-space:nowrap;">${k}</td><td style="${cell}">${v}</td></tr>`,
  )}</table>`;
}

function link(url: string | undefined, label: string): SafeHtml {
  const safe = url ? safeUrl(url) : undefined;
  return safe ? html`<a href="${safe}">${label}</a>` : html`${label}`;
}

/** The HTML email. Every value goes through the escaping `html` tag: error text cannot inject markup. */
export function renderAlertHtml(v: EmailView): string {
  const a = v.alert;
  const color = SEVERITY_COLOR[a.resolved ? 'RESOLVED' : a.severity];
  const body = html`<!doctype html>
<html><head><meta charset="utf-8"><title>${v.subject}</title></head>
<body style="margin:0;padding:0;background:#f2f4f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#101828;">
<div style="max-width:720px;margin:0 auto;background:#fff;">
<div style="background:${color};color:#fff;padding:16px 24px;">
  <div style="font-size:13px;letter-spacing:.08em;font-weight:700;">${v.severityLabel}</div>
  <div style="font-size:20px;font-weight:600;margin-top:4px;">${v.heading}</div>
</div>
<div style="padding:16px 24px;">
${
  v.followUp && followUpListed(v.followUp.items)
    ? html`<div style="background:#fffaeb;border:1px solid #fedf89;padding:8px 12px;"><strong>${v.followUp.count}</strong> more alert(s) of this kind since ${v.followUp.since}; the latest one is shown below. They were:<ul style="margin:4px 0;">${v.followUp.items.map((i) => html`<li>${i}</li>`)}</ul></div>`
    : v.followUp
      ? html`<p style="background:#fffaeb;border:1px solid #fedf89;padding:8px 12px;"><strong>${v.followUp.count}</strong> more alert(s) of this kind since ${v.followUp.since}${v.followUp.items.length ? html` (${v.followUp.items.join(', ')})` : ''}. The latest one is shown below.</p>`
      : ''
}
${a.sample ? html`<p style="background:#eff8ff;border:1px solid #b2ddff;padding:8px 12px;">This is a <strong>test email</strong> sent by <code>vigil test-email</code>. The failure below is a sample of what a real alert looks like.</p>` : ''}
${a.body ? html`<p style="white-space:pre-wrap;">${a.body}</p>` : ''}
<h3 style="margin:16px 0 8px;">What happened</h3>
${rows(v.details)}
${
  a.error
    ? html`<h3 style="margin:16px 0 8px;">Error</h3>
<div style="${mono}background:#fef3f2;border-left:4px solid ${color};padding:8px 12px;white-space:pre-wrap;"><strong>${a.error.type}</strong>: ${a.error.message}</div>
${a.error.stack ? html`<details style="margin-top:8px;"><summary style="cursor:pointer;">Stack trace</summary><pre style="${mono}background:#f9fafb;padding:8px 12px;overflow:auto;white-space:pre-wrap;">${a.error.stack}</pre></details>` : ''}`
    : ''
}
${
  a.stats
    ? html`<h3 style="margin:16px 0 8px;">Targets</h3>
${rows([
  ['Total', String(a.stats.targets)],
  ['Succeeded', String(a.stats.succeeded)],
  ['Failed', String(a.stats.failed)],
  ...(a.stats.skipped !== undefined ? ([['Skipped', String(a.stats.skipped)]] as Array<[string, string]>) : []),
])}`
    : ''
}
${
  a.failures?.length
    ? html`<h3 style="margin:16px 0 8px;">${failuresHeading(a)}</h3>
<ul style="${mono}">${a.failures.map((f) => html`<li><strong>${f.target}</strong>: ${f.error}</li>`)}</ul>`
    : ''
}
${a.facts.length ? html`<h3 style="margin:16px 0 8px;">Details</h3>${rows(a.facts)}` : ''}
${
  v.actions.length
    ? html`<h3 style="margin:16px 0 8px;">Recommended actions</h3>
<ol>${v.actions.map((x) => html`<li style="margin-bottom:4px;">${x}</li>`)}</ol>`
    : ''
}
${
  v.rerun
    ? html`<h3 style="margin:16px 0 8px;">Re-run</h3>
${v.rerun.when ? html`<p style="margin:4px 0;">${v.rerun.when}</p>` : ''}
<pre style="${mono}background:#101828;color:#f2f4f7;padding:8px 12px;white-space:pre-wrap;">${v.rerun.cli}</pre>
<p style="margin:4px 0;font-size:13px;color:#475467;">or through the API (${v.rerun.tokenHint}):</p>
<pre style="${mono}background:#101828;color:#f2f4f7;padding:8px 12px;white-space:pre-wrap;">${v.rerun.curl}</pre>`
    : ''
}
<p style="font-size:13px;color:#475467;margin-top:24px;">
${v.runLink ? html`${link(v.runLink, 'Run details')} · ` : ''}${link(`${v.publicUrl.replace(/\/+$/, '')}/api/system/health`, 'System health')} · event ${a.eventId}
</p>
</div></div></body></html>`;
  return body.value;
}
