import { headers as natsHeaders, type JetStreamClient, type MsgHdrs, type PubAck } from 'nats';
import { natsUnavailable } from '../nats/errors.js';
import { isMsgHdrs } from '../nats/msg-hdrs.js';
import { JetStreamPublisher } from './jetstream-publisher.js';

const ATTEMPT_TIMEOUT_MS = 2_000;
const RETRYABLE = new Set(['TIMEOUT', '503', 'DISCONNECT']);

/** nats.js `js.publish` takes only its own headers type. */
function toMsgHdrs(h: MsgHdrs | Record<string, string> | undefined): MsgHdrs | undefined {
  if (!h || isMsgHdrs(h)) return h;
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

export interface DurablePublishOptions {
  msgID: string;
  /** Plain pairs are encoded straight to bytes by a JetStreamPublisher (the cheaper form). */
  headers?: MsgHdrs | Record<string, string>;
  /** Total time allowed for the PubAck (default 5 s). */
  timeoutMs?: number;
}

/**
 * Publishes to JetStream until the PubAck arrives or the deadline passes. A message written while
 * the link was silently dying is lost by core NATS, so each attempt has a short timeout and is sent
 * again with the same Nats-Msg-Id: the stream stores it once. Rejects with TransientError
 * NATS_UNAVAILABLE: never a silent drop. Hot paths pass the connection's JetStreamPublisher (cheaper per message).
 */
export function publishDurable(
  js: JetStreamClient | JetStreamPublisher,
  subject: string,
  body: Uint8Array,
  opts: DurablePublishOptions,
): Promise<PubAck> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5_000);
  // The first attempt is chained, not awaited in a loop: most publishes succeed at once, and this is the
  // per-event path of every service (an async frame here was measurable on the runner).
  return attempt(js, subject, body, opts, deadline).catch((err: unknown) =>
    retryUntil(js, subject, body, opts, deadline, err),
  );
}

function attempt(
  js: JetStreamClient | JetStreamPublisher,
  subject: string,
  body: Uint8Array,
  opts: DurablePublishOptions,
  deadline: number,
): Promise<PubAck> {
  const timeout = Math.max(1, Math.min(deadline - Date.now(), ATTEMPT_TIMEOUT_MS));
  try {
    return js instanceof JetStreamPublisher
      ? js.publish(subject, body, { msgID: opts.msgID, headers: opts.headers, timeoutMs: timeout })
      : js.publish(subject, body, { msgID: opts.msgID, headers: toMsgHdrs(opts.headers), timeout });
  } catch (err) {
    // A publish that throws instead of rejecting still fails like one (classified and retried the same way).
    return Promise.reject(err);
  }
}

async function retryUntil(
  js: JetStreamClient | JetStreamPublisher,
  subject: string,
  body: Uint8Array,
  opts: DurablePublishOptions,
  deadline: number,
  first: unknown,
): Promise<PubAck> {
  let err = first;
  for (;;) {
    const code = (err as { code?: unknown }).code;
    const again = typeof code === 'string' && RETRYABLE.has(code) && deadline - Date.now() > 100;
    if (!again) throw natsUnavailable(`publish ${subject}`, err);
    if (code !== 'TIMEOUT') await new Promise((r) => setTimeout(r, Math.min(250, deadline - Date.now())));
    try {
      return await attempt(js, subject, body, opts, deadline);
    } catch (e) {
      err = e;
    }
  }
}
