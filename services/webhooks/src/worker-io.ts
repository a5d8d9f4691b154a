import { type Logger, TransientError } from '@vigil/shared';
import type { RawSend } from './parking-lot.js';

/**
 * What the delivery worker and the death notices share at their edges: the command they handle, where their
 * events go, how a URL is shown, and how they call their own dependencies (Redis, NATS).
 */

export interface EventSink {
  /** `msgId`: JetStream de-duplication id (default: the new event's id). */
  publish(subject: string, data: Record<string, unknown>, opts?: { msgId?: string }): Promise<unknown>;
}

/** The slice of a CloudEvent the worker reads. */
export interface SendCommand {
  id: string;
  time: string;
  data: unknown;
  /** Stream seq of the message when it is a dead letter published again (header Vigil-Replay-Of). */
  replaySeq?: number;
  /** When the stream stored this message (the send, or its replay): `maxAgeMs` counts from here. */
  storedAt?: number;
  /** The message as delivered, for parking it unchanged while its destination is down. */
  raw?: RawSend;
}

/** Origin and path only: query strings and userinfo often carry tokens, and events and statuses are widely read. */
export function safeUrl(url: URL): string {
  // Incoming-webhook URLs carry their credential in the path (Slack /services/T…/B…/<token>, Discord
  // /api/webhooks/<id>/<token>): a segment of 20 characters or more is shown as "…". Query and userinfo never are.
  const path = url.pathname
    .split('/')
    .map((seg) => (seg.length >= 20 ? '…' : seg))
    .join('/');
  // `origin` is "null" for schemes other than http(s) (a refused gopher: or file: URL): show the scheme and host
  const origin = url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin;
  return `${origin}${path}`;
}

/**
 * Events follow the status write; losing one to a NATS blip must not re-send a delivered webhook: false (logged)
 * instead of a throw.
 */
export async function publishEvent(
  out: { events: EventSink; log: Logger },
  subject: string,
  data: Record<string, unknown>,
  msgId?: string,
): Promise<boolean> {
  try {
    await out.events.publish(subject, data, msgId === undefined ? undefined : { msgId });
    return true;
  } catch (err) {
    out.log.warn({ err, subject, id: data.id }, 'webhook event not published');
    return false;
  }
}

/** A local dependency failing (Redis) is not the receiver's fault: retry later, attempt count untouched. */
export async function localCall<T>(fn: () => Promise<T>, retryAfterMs: number): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new TransientError(`status store unavailable: ${(err as Error).message}`, { retryAfterMs, cause: err });
  }
}
