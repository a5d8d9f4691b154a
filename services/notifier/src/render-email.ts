import type { Alert } from './alert.js';
import { recommendedActions } from './recommended-actions.js';
import { rerunCommands, runLink } from './rerun.js';
import { sampleFailure } from './sample-alert.js';
import { renderAlertHtml } from './templates/alert-html.js';
import { renderAlertText } from './templates/alert-text.js';
import type { EmailView } from './templates/view.js';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface RenderOptions {
  publicUrl: string;
  followUp?: { count: number; sinceMs: number };
}

const LABEL = { CRITICAL: '🚨 CRITICAL', WARNING: '⚠️ WARNING', INFO: 'ℹ️ INFO', RESOLVED: '✅ RESOLVED' } as const;

export function severityLabel(alert: Alert): string {
  return alert.resolved ? LABEL.RESOLVED : LABEL[alert.severity];
}

/** "2026-11-24 02:00:05 UTC": unambiguous for a reader in any time zone. */
export function formatTime(iso: string | number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} UTC`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** One header line: no CR/LF smuggling, bounded length. */
function oneLine(text: string, max = 160): string {
  const flat = text.replace(/[\r\n\t]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function emailSubject(alert: Alert, followUpCount?: number): string {
  const suffix = alert.error && !alert.resolved && alert.kind !== 'message' ? ` — ${alert.error.type}` : '';
  const more = followUpCount ? ` (+${followUpCount} more)` : '';
  return oneLine(`${severityLabel(alert)}: ${alert.headline}${suffix}${more}`, 200);
}

function details(a: Alert): Array<[string, string]> {
  const out: Array<[string, string]> = [['When', formatTime(a.occurredAt)]];
  if (a.job) out.push(['Job', a.job]);
  if (a.run) {
    out.push(['Run id', a.run.runId]);
    if (a.run.attempt !== undefined) out.push(['Attempt', String(a.run.attempt)]);
    if (a.run.trigger) out.push(['Trigger', a.run.trigger]);
    if (a.run.scheduledAt) out.push(['Scheduled for', formatTime(a.run.scheduledAt)]);
    if (a.run.startedAt) out.push(['Started', formatTime(a.run.startedAt)]);
    if (a.run.finishedAt) out.push(['Finished', formatTime(a.run.finishedAt)]);
    if (a.run.durationMs !== undefined) out.push(['Duration', formatDuration(a.run.durationMs)]);
    if (a.run.reason) out.push(['Reason', a.run.reason]);
    if (a.run.requestedBy) out.push(['Requested by', a.run.requestedBy]);
  }
  if (a.error?.class) out.push(['Error class', a.error.class]);
  if (!a.job) out.push(['Source', a.scope]);
  return out;
}

/** Renders an alert (or a follow-up of its group) into the subject, HTML and text of one email. */
export function renderEmail(input: Alert, opts: RenderOptions): RenderedEmail {
  const alert = input.sample ? sampleFailure(input) : input;
  const subject = input.sample
    ? oneLine(`${severityLabel(input)}: ${input.headline}`)
    : emailSubject(alert, opts.followUp?.count);
  const rerun = rerunCommands(alert, opts.publicUrl);
  const view: EmailView = {
    alert,
    severityLabel: severityLabel(alert),
    subject,
    heading: alert.headline,
    followUp: opts.followUp ? { count: opts.followUp.count, since: formatTime(opts.followUp.sinceMs) } : undefined,
    details: details(alert),
    actions: recommendedActions(alert),
    rerun: rerun ? { cli: rerun.cli, curl: rerun.curl } : undefined,
    runLink: runLink(alert, opts.publicUrl),
    publicUrl: opts.publicUrl,
  };
  return { subject, html: renderAlertHtml(view), text: renderAlertText(view) };
}
