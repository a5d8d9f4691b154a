import { formatDuration } from '@vigil/shared';
import type { Alert } from './alert.js';
import { recommendedActions } from './recommended-actions.js';
import { rerunCommands, runLink } from './rerun.js';
import { sampleFailure } from './sample-alert.js';
import { secretsErrorClass } from './secrets-actions.js';
import type { OutgoingMail } from './smtp-channel.js';
import { renderAlertHtml } from './templates/alert-html.js';
import { renderAlertText } from './templates/alert-text.js';
import type { EmailView } from './templates/view.js';
import { webhookErrorClass } from './webhook-death.js';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface RenderOptions {
  publicUrl: string;
  /** The CLI command in re-run lines (default `vigil`). */
  cli?: string;
  /** A group's follow-up: how many alerts were folded since `sinceMs`, and what they were about when they say. */
  followUp?: { count: number; sinceMs: number; items?: string[] };
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

/** Re-exported for the notifier's modules: the shared 'long' style ("250 ms", "45 s", "2 min 0 s", "3 h 5 min"). */
export { formatDuration };

/** One header line: no CR/LF smuggling, bounded length. */
function oneLine(text: string, max = 160): string {
  const flat = text.replace(/[\r\n\t]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** How many names of folded alerts a subject line shows (the body lists them all). */
const SUBJECT_ITEMS = 5;

/**
 * What a folded alert is about, as a follow-up names it: a secret's name, or `wh-1 — HTTP 302 (refused: redirect)`
 * for a dead webhook: its id, then ` — ` and why it died (the subject shows the id, the body all of it).
 */
export function itemName(item: string): string {
  const cut = item.indexOf(' — ');
  return cut < 0 ? item : item.slice(0, cut);
}

/**
 * ` (+2 more: job_failure_recipients, openai)`; ` (+49 more)` when the folded alerts name nothing, or nothing the
 * headline (the latest alert) does not already name. A name the headline shows is not repeated (another replica's
 * alert about the same secret): the subject would read as one more secret than there are.
 */
function moreSuffix(headline: string, followUp: { count: number; items?: string[] } | undefined): string {
  if (!followUp?.count) return '';
  const named = new Set(headline.split(/[\s,:]+/));
  const items = [...new Set((followUp.items ?? []).map(itemName))].filter((i) => !named.has(i));
  if (items.length === 0) return ` (+${followUp.count} more)`;
  const shown = items.slice(0, SUBJECT_ITEMS).join(', ');
  return ` (+${followUp.count} more: ${shown}${items.length > SUBJECT_ITEMS ? ', …' : ''})`;
}

export function emailSubject(alert: Alert, followUp?: { count: number; items?: string[] }): string {
  const suffix = alert.error && !alert.resolved && alert.kind !== 'message' ? ` — ${alert.error.type}` : '';
  return oneLine(`${severityLabel(alert)}: ${alert.headline}${suffix}${moreSuffix(alert.headline, followUp)}`, 200);
}

function errorClassText(a: Alert): string | undefined {
  if (a.kind === 'webhook-dead' && !a.lostFallback) return webhookErrorClass(a);
  if (a.kind === 'secrets-refresh-failed' || a.kind === 'secrets-stale-served') return secretsErrorClass(a);
  return a.error?.class;
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
  const errorClass = errorClassText(a);
  if (errorClass) out.push(['Error class', errorClass]);
  if (!a.job) out.push(['Source', a.scope]);
  return out;
}

/** Renders an alert (or a follow-up of its group) into the subject, HTML and text of one email. */
export function renderEmail(input: Alert, opts: RenderOptions): RenderedEmail {
  const alert = input.sample ? sampleFailure(input) : input;
  const subject = input.sample
    ? oneLine(`${severityLabel(input)}: ${input.headline}`)
    : emailSubject(alert, opts.followUp);
  const rerun = rerunCommands(alert, opts.publicUrl, opts.cli);
  const view: EmailView = {
    alert,
    severityLabel: severityLabel(alert),
    subject,
    heading: alert.headline,
    followUp: opts.followUp
      ? { count: opts.followUp.count, since: formatTime(opts.followUp.sinceMs), items: opts.followUp.items ?? [] }
      : undefined,
    details: details(alert),
    actions: recommendedActions(alert, opts.cli),
    rerun: rerun
      ? { cli: rerun.cli, curl: rerun.curl, tokenHint: rerun.tokenHint, ...(rerun.when ? { when: rerun.when } : {}) }
      : undefined,
    // the sample run does not exist: a link to it would be a 404
    runLink: input.sample ? undefined : runLink(alert, opts.publicUrl),
    publicUrl: opts.publicUrl,
  };
  return { subject, html: renderAlertHtml(view), text: renderAlertText(view) };
}

/**
 * The email of a rendered alert to `to`. Its Message-ID is fixed by the notification (`notificationId`, plus
 * `variant` for a second email of the same notification), so a copy re-sent after a crash between SMTP acceptance and
 * the dedupe record is the same message to mail servers and clients.
 */
export function alertMail(
  alert: Alert,
  mail: RenderedEmail,
  to: string[],
  notificationId: string,
  variant = '',
): OutgoingMail {
  return {
    to,
    subject: mail.subject,
    html: mail.html,
    text: mail.text,
    headers: { 'X-Vigil-Event-Id': alert.eventId, 'X-Vigil-Severity': alert.severity },
    messageId: `<${notificationId.replace(/[^A-Za-z0-9._-]/g, '_')}${variant}@vigil.notifier>`,
  };
}
