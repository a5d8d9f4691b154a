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
export function neverSent(d: WebhookDeath): boolean {
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
