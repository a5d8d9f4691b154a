import type { Alert } from './alert.js';
import { recommendedActions } from './recommended-actions.js';
import { type RenderOptions, emailSubject, formatTime } from './render-email.js';
import { rerunCommands, runLink } from './rerun.js';
import { sampleFailure } from './sample-alert.js';
import { followUpListed } from './templates/view.js';

export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

/** Slack mrkdwn: only &, < and > are special; escaping them keeps error text from forming links or mentions. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Facts the Slack message shows too: what a dead webhook or a skipped slot is (the email shows every fact). */
const SLACK_FACTS: ReadonlySet<string> = new Set([
  'Webhook id',
  'URL',
  'Event type',
  'Delivered since',
  'Skipped slot',
  'Waited for',
]);

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The fallback channel's message: Slack-compatible `{ text, blocks }` (also fine for Mattermost, Rocket.Chat). */
export function renderSlack(input: Alert, opts: RenderOptions): SlackMessage {
  const alert = input.sample ? sampleFailure(input) : input;
  const title = emailSubject(alert, opts.followUp);
  const lines: string[] = [`*When:* ${formatTime(alert.occurredAt)}`];
  if (alert.run)
    lines.push(
      `*Run:* ${escapeMrkdwn(alert.run.runId)} (attempt ${alert.run.attempt ?? '?'}, ${alert.run.trigger ?? '?'})`,
    );
  if (alert.stats)
    lines.push(`*Targets:* ${alert.stats.succeeded} ok / ${alert.stats.failed} failed of ${alert.stats.targets}`);
  // what the alert is about when no run says it (a dead webhook's id and URL, a skipped slot's blocking run)
  const facts = alert.facts.filter(([k]) => SLACK_FACTS.has(k));
  for (const [k, v] of facts) lines.push(`*${escapeMrkdwn(k)}:* ${escapeMrkdwn(clip(v, 300))}`);
  if (opts.followUp) lines.push(`*${opts.followUp.count} more* since ${formatTime(opts.followUp.sinceMs)}`);
  // dead webhooks say why each one died (`wh-1 — HTTP 302 …`): listed, as in the email
  const items = opts.followUp?.items ?? [];
  if (followUpListed(items)) lines.push(...items.slice(0, 20).map((i) => `• ${escapeMrkdwn(i)}`));
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: clip(title, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 2900) } },
  ];
  if (alert.error) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(`*${escapeMrkdwn(alert.error.type)}*: ${escapeMrkdwn(alert.error.message)}`, 2900),
      },
    });
  }
  if (alert.body)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(alert.body), 2900) } });
  const actions = recommendedActions(alert, opts.cli, 'webhook');
  if (actions.length) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(`*Recommended actions*\n${actions.map((a) => `• ${escapeMrkdwn(a)}`).join('\n')}`, 2900),
      },
    });
  }
  const rerun = rerunCommands(alert, opts.publicUrl, opts.cli);
  if (rerun)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(`*Re-run*\n${rerun.when ? `${escapeMrkdwn(rerun.when)}\n` : ''}\`\`\`${rerun.cli}\`\`\``, 2900),
      },
    });
  const link = input.sample ? undefined : runLink(alert, opts.publicUrl);
  if (link)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<${link}|Run details> · event ${alert.eventId}` }],
    });
  const named = facts.map(([k, v]) => `\n${k}: ${clip(v, 300)}`).join('');
  const text = escapeMrkdwn(`${title}${named}${alert.error ? `\n${alert.error.message}` : ''}`);
  return { text: clip(text, 3000), blocks };
}
