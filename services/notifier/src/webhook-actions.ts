import type { Alert } from './alert.js';
import { type WebhookDeath, webhookDeath } from './webhook-death.js';

// What a dead webhook's email advises (and a follow-up lists), by how it died (webhook-death.ts).

const fact = (alert: Alert, label: string) => alert.facts.find(([k]) => k === label)?.[1];

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The networking error a message names (ECONNREFUSED, ENOTFOUND…), else the error type. */
function errnoOf(alert: Alert): string {
  const e = alert.error;
  if (!e) return 'no answer';
  return /\bE[A-Z]{4,}\b/.exec(`${e.code ?? ''} ${e.message}`)?.[0] ?? e.type;
}

/**
 * What a follow-up lists for one folded dead webhook: `wh-1 — HTTP 302 (refused: redirect)`. The webhook id comes
 * first, up to ` — ` (itemName in render-email.ts): the subject names the ids, the body the causes too.
 */
export function webhookItem(alert: Alert): string | undefined {
  const id = fact(alert, 'Webhook id');
  if (!id) return undefined;
  const d = webhookDeath(alert);
  const n = alert.delivery?.attempts;
  const status = alert.delivery?.status;
  const cause = (() => {
    switch (d.cause) {
      case 'exhausted':
        return `${status !== undefined ? `HTTP ${status}` : errnoOf(alert)} after ${n} attempts (${d.how.replace('-', ' ')}; replay once it is back)`;
      case 'refused':
        return `HTTP ${d.status} (refused${d.status < 400 ? ': redirect' : ''})`;
      case 'expired':
        return `expired after ${n ?? 0} attempt(s) (replay once it is back)`;
      case 'no-key':
        return d.why === 'no-default'
          ? 'never sent: no secretName and WEBHOOKS_SIGNING_SECRET unset'
          : `never sent: signing secret ${d.secretName ?? '?'} ${d.why === 'bad-key' ? 'is not a whsec_ key' : 'not found'}`;
      case 'address-refused':
        return 'never sent: internal address refused';
      case 'invalid':
        return `never sent: invalid request (${clip(alert.error?.message ?? '', 80)})`;
      default:
        return clip(`${alert.error?.type ?? 'given up'}: ${alert.error?.message ?? ''}`, 100);
    }
  })();
  return `${id} — ${cause}`;
}

/**
 * How to replay a dead webhook's dead letter: the webhook.send itself, found by the webhook id. After an attempt (used-up
 * retries, a refusal, expiry) its error begins `webhook <id> …` (`gave up after N attempts`, `permanent failure`,
 * `expired`), the ERROR column of `vigil dlq list`; a request never sent is dead-lettered with the cause only, so its
 * id is in the payload (`vigil --json dlq list`: `data.data.id`). The HTTP form is on the webhooks service (its own
 * HTTP_PORT, 8084 by default): the notifier knows no URL for it (VIGIL_PUBLIC_URL is the scheduler's API).
 */
export function replayHow(id: string | undefined, cause: WebhookDeath['cause']): string {
  const afterAttempt = cause === 'exhausted' || cause === 'refused' || cause === 'expired';
  const find = !id
    ? 'in `vigil dlq list`, the SEQ of the row with ORIGINAL SUBJECT webhook.send dead-lettered at the time above'
    : afterAttempt
      ? `in \`vigil dlq list\`, the SEQ of the row with ORIGINAL SUBJECT webhook.send whose ERROR begins \`webhook ${id} \``
      : `the table's ERROR names only the cause, not the id: \`vigil --json dlq list\` shows each entry's payload, the one to replay has \`data.data.id\` ${id}${/^[A-Za-z0-9._:-]+$/.test(id) ? ` (with jq: \`vigil --json dlq list | jq '.[] | select(.data.data.id == "${id}") | .seq'\`)` : ''}`;
  return (
    `Finding the seq to replay: ${find}. Over HTTP it is \`GET /api/dlq?subject=webhook.send\`, then \`POST /api/dlq/<seq>/replay\` with \`Authorization: Bearer $VIGIL_API_TOKEN\`, ` +
    'both on the webhooks service itself (its HTTP_PORT, 8084 by default; not VIGIL_PUBLIC_URL, which is the scheduler).'
  );
}

const REPLAY = 'replay it: `vigil dlq list`, then `vigil dlq replay <seq>` (finding the seq: last action)';

/** What to do first about a dead webhook (not the notifier's own Slack message: lost-fallback.ts). */
export function webhookActions(alert: Alert): string[] {
  const actions = deadWebhookActions(alert);
  // a follow-up whose latest webhook was replayed and delivered since (webhook-fates.ts)
  const delivered = fact(alert, 'Delivered since');
  const since = delivered
    ? [
        `${fact(alert, 'Webhook id') ?? 'This webhook'} was replayed and delivered since (${delivered.replace(/ \(.*$/, '')}): nothing to do for it. The advice below is for the folded webhooks still listed as given up.`,
      ]
    : [];
  if (!actions.some((a) => a.includes(REPLAY))) return [...since, ...actions];
  return [...since, ...actions, replayHow(fact(alert, 'Webhook id'), webhookDeath(alert).cause)];
}

function deadWebhookActions(alert: Alert): string[] {
  const d = webhookDeath(alert);
  const host = /^webhook:(.*)$/.exec(alert.scope)?.[1] ?? 'the destination';
  const url = fact(alert, 'URL') ?? host;
  let hostname = host;
  try {
    hostname = new URL(url).hostname;
  } catch {
    // an invalid URL: its host part as the scope has it
  }
  const attempts = alert.delivery?.attempts ?? 0;
  const status = alert.delivery?.status;
  const replay = REPLAY;
  const sameFails =
    "Replaying the dead letter would send the same request and fail the same way (a dead letter's data cannot be edited)";
  const resend = `the sender${fact(alert, 'Event type') ? ` of event type ${fact(alert, 'Event type')}` : ''} must send a new, corrected webhook.send`;
  const error = alert.error?.message ?? alert.error?.type ?? 'unknown error';
  switch (d.cause) {
    case 'invalid': {
      const fix = {
        url: `with an http:// or https:// URL that has a host (this one was ${url})`,
        payload: 'with a payload of at most 256 KiB (a link to the data instead of the data)',
        id: 'with an id of at most 200 letters, digits and . _ : - (it is the idempotency key)',
        request: 'that fixes what the error above names',
      }[d.what];
      return [
        `Never sent: the webhooks service refused the request itself, before any attempt (${error}), so nothing reached ${host}.`,
        `${sameFails}: ${resend} ${fix}.`,
      ];
    }
    case 'no-key': {
      const s = d.secretName ?? 'named by its secretName';
      switch (d.why) {
        case 'no-default':
          return [
            `Never sent: the request names no secretName and WEBHOOKS_SIGNING_SECRET is unset on the webhooks service, so there was no key to sign it with (a standard envelope is never sent unsigned).`,
            `Set WEBHOOKS_SIGNING_SECRET (whsec_…) on the webhooks service and restart it, then ${replay}. Until then a replay fails the same way; or ${resend} with a secretName.`,
          ];
        case 'bad-key':
          return [
            `Never sent: secret ${s}, named by its secretName, is not a Standard Webhooks key (whsec_…).`,
            `Store a valid key under ${s} at the secrets provider, then ${replay}. If the name is wrong, a replay fails the same way: ${resend} naming the right secret.`,
          ];
        case 'no-secrets-client':
          return [
            `Never sent: the request names secret ${s} as its signing key, but the webhooks service has no secrets client.`,
            `Fix the webhooks service's configuration (its NATS connection to the secrets service) and restart it, then ${replay}.`,
          ];
        default:
          return [
            `Never sent: its signing secret ${s} (secretName) was not found at the secrets provider, so there was no key to sign it with (${error}).`,
            `If ${s} is the right name, create it at the secrets provider (a Standard Webhooks key, whsec_…), then ${replay}: the replay looks the key up again.`,
            `If the name is wrong, a replay sends the same secretName and fails the same way: ${resend} naming an existing secret (\`vigil secrets status\` lists the known ones).`,
          ];
      }
    }
    case 'address-refused':
      return [
        `Never sent: ${hostname} resolves to an internal address, which the webhooks service refuses to call (${error}).`,
        `If ${hostname} is a legitimate internal receiver, allow it on the webhooks service (WEBHOOKS_ALLOWLIST=${hostname}, or WEBHOOKS_ALLOW_PRIVATE=true in dev) and restart it, then ${replay}. Otherwise a replay is refused the same way: ${resend} with the right URL.`,
      ];
    case 'expired':
      return [
        `Not delivered within WEBHOOKS_MAX_AGE of being queued (${attempts} attempt(s) made): ${host} was down or unreachable all that time (its circuit breaker held the webhook back meanwhile).`,
        `Once ${host} answers again, ${replay}: a replay starts a fresh age. Check with its owner whether data this old is still wanted.`,
      ];
    case 'exhausted': {
      const what = {
        'rate-limited': `kept answering HTTP 429 (rate limited) for all ${attempts} attempts`,
        failing: `kept failing for all ${attempts} attempts (last answer HTTP ${status})`,
        'timed-out': `kept timing out for all ${attempts} attempts (${status !== undefined ? `HTTP ${status}` : errnoOf(alert)})`,
        unreachable: `was unreachable for all ${attempts} attempts (${errnoOf(alert)})`,
      }[d.how];
      const check = {
        'rate-limited': `It limits how often we may call it: check its quota with its owner, and whether something sends it more than usual (several webhooks to ${host} given up at once).`,
        failing: `The failure is on its side: check its status page or tell its owner.`,
        'timed-out': `Check its status page, and the path from the webhooks service to it (DNS, firewall, proxy, allow-list).`,
        unreachable: `Check its status page, and the path from the webhooks service to it (DNS, firewall, proxy, allow-list).`,
      }[d.how];
      const back = d.how === 'rate-limited' ? 'it accepts requests again' : 'it is back';
      return [`${host} ${what}; once ${back}, ${replay}.`, check];
    }
    case 'refused': {
      const s = d.status;
      if (s < 400)
        return [
          `${host} answered HTTP ${s}, a redirect, which the webhooks service does not follow: the URL ${url} is outdated (moved, or http:// where https:// is wanted).`,
          `A replay posts to the same URL and gets the same redirect (a dead letter's data cannot be edited): ${resend} with the URL the redirect points to (its Location; ask the receiver's owner).`,
        ];
      if (s === 401 || s === 403)
        return [
          `${host} refused it (HTTP ${s}): it does not accept our signature or credentials.`,
          `Check that the receiver verifies with the key we sign with (the secret its secretName names, else WEBHOOKS_SIGNING_SECRET); once the keys match, ${replay}.`,
        ];
      if (s === 404 || s === 410)
        return [
          `${host} answered HTTP ${s}: nothing receives webhooks at ${url} (removed or mistyped).`,
          `If the receiver restores that endpoint, ${replay}. Otherwise a replay posts to the same URL and fails the same way: ${resend} with the right URL.`,
        ];
      return [
        `${host} refused the request (HTTP ${s}): the receiver rejects what we sent; its answer is in the error above.`,
        `If the receiver was at fault and is fixed, ${replay}. If our request was wrong, a replay sends it unchanged and fails the same way: ${resend}.`,
      ];
    }
    default:
      return [
        `The webhooks service gave it up after ${attempts} attempt(s): read the error above.`,
        `Once its cause is fixed on the receiver's side, ${replay}. If the request itself was wrong, a replay fails the same way: ${resend}.`,
      ];
  }
}
