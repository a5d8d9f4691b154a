import { ErrorCode, type ErrorCodeValue, isTransientStatus } from '@vigil/shared';
import type { Alert, AlertError } from './alert.js';

/**
 * Why the webhooks service gave a webhook up (`webhook.dead`: services/webhooks webhook-deaths.ts and
 * delivery-worker.ts), and what that means for the reader: whether anything was ever sent, and whether a replay of
 * the dead letter (the same request: its data cannot be edited) can succeed or the sender must send a new one.
 */
export type WebhookDeath =
  /** Refused before any attempt: the request itself is invalid (URL, id, payload, shape). A replay fails alike. */
  | { cause: 'invalid'; what: 'url' | 'payload' | 'id' | 'request' }
  /** Never sent: no key to sign it with. A replay works once the key exists. */
  | { cause: 'no-key'; why: 'missing-secret' | 'no-default' | 'bad-key' | 'no-secrets-client'; secretName?: string }
  /** Not delivered within WEBHOOKS_MAX_AGE (the destination stayed down): a replay starts a fresh age. */
  | { cause: 'expired' }
  /** Never sent: the host resolves to an internal address the SSRF guard refuses. */
  | { cause: 'address-refused' }
  /** Retries used up on failures that may pass (429, 408, 5xx, network): replay once the destination is back. */
  | { cause: 'exhausted'; how: 'rate-limited' | 'failing' | 'timed-out' | 'unreachable' }
  /** The receiver refused it: a redirect (not followed) or a 4xx other than 408/425/429. */
  | { cause: 'refused'; status: number }
  | { cause: 'unknown' };

const TIMEOUT = /timeout|timed out|TimeoutError|AbortError|ETIMEDOUT|UND_ERR_(CONNECT|HEADERS|BODY)_TIMEOUT/i;

/**
 * The event's error carries `code`: as its code (errors of signing-keys.ts, the secrets client, the request checks)
 * or as its type (the webhooks service's own errors of an attempt, an expiry, a re-announced death).
 */
function carries(e: AlertError | undefined, ...codes: ErrorCodeValue[]): boolean {
  return codes.some((c) => e?.code === c || e?.type === c);
}

/**
 * The secret a signing-key error names, for display only (the decision is the code's): its message says
 * `secret "X" does not exist…` (the secrets service), `secret X is not a Standard Webhooks key`, `secret X requested
 * but…` (signing-keys.ts). Unnamed, the advice says "named by its secretName".
 */
function secretNamedIn(message: string): string | undefined {
  return /secret "?([A-Za-z0-9/_+=.@-]+?)"? (?:does not exist|is not a Standard Webhooks key|requested but)/.exec(
    message,
  )?.[1];
}

/**
 * By the message's wording, for events that do not carry the code their death has now: those of older versions
 * (before VIGIL_E_WEBHOOK_SIGNING_KEY_MISSING / _INVALID / _SECRETS_UNCONFIGURED, when these deaths said
 * SECRET_NOT_FOUND, VALIDATION or SECRET_UNAVAILABLE, and a refused address on a re-announcement said nothing more
 * precise), and a death re-announced after a crash (webhook-deaths.ts redeadLetter: the status keeps the message,
 * not the code, so it says VIGIL_E_PERMANENT). Our own wording only: with an HTTP status the message quotes the
 * receiver's answer, which must never read as our error (an expiry re-announced keeps its last attempt's status,
 * and WEBHOOKS_MAX_AGE is our setting's name). Drop the rest once no such event can be in flight.
 */
function deathByWording(
  message: string,
  status: number | undefined,
  named: string | undefined,
): WebhookDeath | undefined {
  if (/\bWEBHOOKS_MAX_AGE\b/.test(message)) return { cause: 'expired' };
  if (status !== undefined) return undefined;
  if (/refusing to send to/.test(message)) return { cause: 'address-refused' };
  if (/WEBHOOKS_SIGNING_SECRET is unset|no signing key/.test(message)) return { cause: 'no-key', why: 'no-default' };
  if (/not a Standard Webhooks key/.test(message)) return { cause: 'no-key', why: 'bad-key', secretName: named };
  if (/no secrets client/.test(message)) return { cause: 'no-key', why: 'no-secrets-client', secretName: named };
  return undefined;
}

export function webhookDeath(alert: Alert): WebhookDeath {
  const e = alert.error;
  const message = e?.message ?? '';
  const attempts = alert.delivery?.attempts ?? 0;
  const status = alert.delivery?.status;
  const named = secretNamedIn(message);
  // By code (services/webhooks signing-keys.ts, webhook-deaths.ts, attempt-settlement.ts)
  if (carries(e, ErrorCode.WEBHOOK_EXPIRED)) return { cause: 'expired' };
  if (carries(e, ErrorCode.WEBHOOK_SIGNING_KEY_MISSING)) return { cause: 'no-key', why: 'no-default' };
  if (carries(e, ErrorCode.WEBHOOK_SIGNING_KEY_INVALID)) return { cause: 'no-key', why: 'bad-key', secretName: named };
  if (carries(e, ErrorCode.WEBHOOK_SECRETS_UNCONFIGURED))
    return { cause: 'no-key', why: 'no-secrets-client', secretName: named };
  // the SSRF guard refused the address at connect time, in an attempt; before any, the same code is a bad URL
  if (carries(e, ErrorCode.WEBHOOK_URL_REFUSED) && attempts > 0 && status === undefined)
    return { cause: 'address-refused' };
  const legacy = deathByWording(message, status, named);
  if (legacy) return legacy;
  if (carries(e, ErrorCode.SECRET_NOT_FOUND)) return { cause: 'no-key', why: 'missing-secret', secretName: named };
  if (attempts === 0 && status === undefined) {
    // which part of the request was refused: by code, else by the field the validation message names
    if (carries(e, ErrorCode.WEBHOOK_PAYLOAD_TOO_LARGE) || /payload is \d+ bytes/.test(message))
      return { cause: 'invalid', what: 'payload' };
    if (carries(e, ErrorCode.WEBHOOK_URL_REFUSED) || /\burl\b/i.test(message)) return { cause: 'invalid', what: 'url' };
    if (/(^|[\s;:])id: /.test(message)) return { cause: 'invalid', what: 'id' };
    if (
      e?.class === 'validation' ||
      e?.type === 'ValidationError' ||
      carries(e, ErrorCode.VALIDATION, ErrorCode.INVALID_EVENT)
    )
      return { cause: 'invalid', what: 'request' };
  }
  // the webhooks service retries the statuses shared classify calls transient; every other non-2xx is a refusal
  if (status !== undefined && !isTransientStatus(status)) return { cause: 'refused', status };
  if (status !== undefined || attempts > 1) {
    if (status === 429) return { cause: 'exhausted', how: 'rate-limited' };
    if (status === 408 || (status === undefined && TIMEOUT.test(`${e?.type ?? ''} ${e?.code ?? ''} ${message}`)))
      return { cause: 'exhausted', how: 'timed-out' };
    return { cause: 'exhausted', how: status !== undefined ? 'failing' : 'unreachable' };
  }
  return { cause: 'unknown' };
}

/** A webhook given up after retrying (network error, 5xx, 429), not refused (events of older versions said `permanent`). */
export function webhookExhausted(alert: Alert): boolean {
  return alert.kind === 'webhook-dead' && webhookDeath(alert).cause === 'exhausted';
}

/** A death that sent nothing at all: the request, its key or its address was refused before any byte went out. */
function neverSent(d: WebhookDeath): boolean {
  return d.cause === 'invalid' || d.cause === 'no-key' || d.cause === 'address-refused';
}

/** "Error class" of a dead webhook: the event's class, with what it means here. */
export function webhookErrorClass(alert: Alert): string | undefined {
  const cls = alert.error?.class;
  if (!cls) return undefined;
  const d = webhookDeath(alert);
  if (d.cause === 'exhausted') return `transient (retries exhausted after ${alert.delivery?.attempts} attempts)`;
  if (d.cause === 'expired') return `${cls} (expired: not delivered within WEBHOOKS_MAX_AGE; a replay starts afresh)`;
  if (neverSent(d)) return `${cls} (never sent)`;
  return cls;
}

/**
 * The second half of a dead webhook's group key: deaths that call for different actions never fold into one
 * follow-up (a refused URL must be fixed by the sender; used-up retries are replayed once the destination is back).
 */
export function webhookGroupClass(alert: Alert): string {
  const d = webhookDeath(alert);
  return neverSent(d) ? 'never-sent' : d.cause;
}

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
