import {
  headers as natsHeaders,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type MsgHdrs,
  type PubAck,
} from 'nats';
import { classify, errorCodeOf } from '../errors/classify.js';
import { ErrorCode } from '../errors/codes.js';
import { errorMessage } from '../errors/error-message.js';
import { PermanentError, VigilError } from '../errors/vigil-error.js';
import { scrubSecrets } from '../log/secret-values.js';
import type { VigilMetrics } from '../metrics/vigil-metrics.js';
import { isNotFound } from '../nats/errors.js';
import { publishDurable } from './durable-publish.js';
import type { JetStreamPublisher } from './jetstream-publisher.js';
import { Header, headerRecord, headerValue } from './headers.js';
import { DLQ_STREAM } from './streams.js';
import { subjectMatches } from './subject-match.js';

export interface DeadLetterOptions {
  metrics?: VigilMetrics;
  /** Durable name of the consumer that gave up (diagnostics). */
  consumer?: string;
  timeoutMs?: number;
}

const DLQ_HEADERS = new Set(
  [
    Header.ERROR,
    Header.ERROR_CLASS,
    Header.ERROR_CODE,
    Header.DELIVERIES,
    Header.ORIGINAL_SUBJECT,
    Header.ORIGINAL_STREAM,
    Header.ORIGINAL_SEQ,
    Header.ORIGINAL_MSG_ID,
    Header.CONSUMER,
    Header.MSG_ID,
    Header.PAYLOAD_DROPPED,
    // a replay is a new send: its age counts from the replay, not from when the original was first stored
    Header.STORED_AT,
  ].map((h) => h.toLowerCase()),
);

/** What dead-lettering needs of a delivered message (a nats.js JsMsg or a PulledMessage). */
export interface DeadLetterSource {
  subject: string;
  data: Uint8Array;
  headers?: JsMsg['headers'];
  info: { stream: string; streamSequence: number };
}

/**
 * Copies a message to `dlq.<original subject>` with its payload and headers plus why it failed.
 * The DLQ copy's Nats-Msg-Id is derived from the original stream sequence, so dead-lettering the
 * same delivery twice (e.g. the term was lost in a reconnect) stores it once.
 */

export async function deadLetter(
  js: JetStreamClient | JetStreamPublisher,
  msg: DeadLetterSource,
  err: unknown,
  deliveries: number,
  opts: DeadLetterOptions = {},
): Promise<PubAck> {
  const h = natsHeaders();
  if (msg.headers) {
    for (const [k, vs] of msg.headers) {
      if (DLQ_HEADERS.has(k.toLowerCase())) continue;
      for (const v of vs) h.append(k, v);
    }
  }
  // Scrubbed before truncation, so a cut can never leave part of a secret behind.
  const message = scrubSecrets(errorMessage(err));
  h.set(Header.ERROR, headerValue(message || 'error'));
  h.set(Header.ERROR_CLASS, classify(err));
  const code = errorCodeOf(err);
  if (code) h.set(Header.ERROR_CODE, headerValue(code, 128));
  h.set(Header.DELIVERIES, String(err instanceof VigilError && err.attempts !== undefined ? err.attempts : deliveries));
  h.set(Header.ORIGINAL_SUBJECT, msg.subject);
  const info = msg.info;
  h.set(Header.ORIGINAL_STREAM, info.stream);
  h.set(Header.ORIGINAL_SEQ, String(info.streamSequence));
  const originalId = msg.headers?.get(Header.MSG_ID);
  if (originalId) h.set(Header.ORIGINAL_MSG_ID, originalId);
  if (opts.consumer) h.set(Header.CONSUMER, opts.consumer);
  const subject = `dlq.${msg.subject}`;
  const publish = (data: Uint8Array) =>
    publishDurable(js, subject, data, {
      headers: h,
      msgID: `dlq.${info.stream}.${info.streamSequence}`,
      timeoutMs: opts.timeoutMs,
    });
  let ack: PubAck;
  try {
    ack = await publish(msg.data);
  } catch (e) {
    // A payload near the server's max_payload does not fit with the DLQ headers added. Failing here would send the
    // message back to its consumer forever; the dead letter goes without its payload instead, which stays readable
    // in its own stream at Vigil-Original-Stream / Vigil-Original-Seq (until the stream's max_age).
    if (!payloadTooLarge(e)) throw e;
    h.set(Header.PAYLOAD_DROPPED, `${msg.data.length} bytes: too large to copy with the DLQ headers`);
    ack = await publish(new Uint8Array(0));
  }
  opts.metrics?.dlqMessagesTotal.inc({ subject: msg.subject });
  return ack;
}

function payloadTooLarge(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'MAX_PAYLOAD_EXCEEDED') return true;
  }
  return false;
}

export interface DlqEntry {
  seq: number;
  subject: string;
  originalSubject: string;
  error: string;
  errorClass: string;
  errorCode?: string;
  deliveries: number;
  /** When it was dead-lettered. */
  time: string;
  /** Id of the original event, when the payload was a CloudEvent. */
  eventId?: string;
  /** The original payload: the parsed CloudEvent, or the raw text when it was not JSON. */
  data: unknown;
  headers: Record<string, string>;
}

const decoder = new TextDecoder();

function entryOf(sm: { seq: number; subject: string; data: Uint8Array; header: MsgHdrs; time: Date }): DlqEntry {
  const text = decoder.decode(sm.data);
  let data: unknown = text;
  try {
    data = JSON.parse(text);
  } catch {
    // not JSON: that is often why it is here; keep the raw text
  }
  const h = sm.header;
  const id = typeof data === 'object' && data !== null ? (data as { id?: unknown }).id : undefined;
  return {
    seq: sm.seq,
    subject: sm.subject,
    originalSubject: h?.get(Header.ORIGINAL_SUBJECT) || sm.subject.slice(4),
    error: h?.get(Header.ERROR) ?? '',
    errorClass: h?.get(Header.ERROR_CLASS) ?? 'unexpected',
    ...(h?.get(Header.ERROR_CODE) ? { errorCode: h.get(Header.ERROR_CODE) } : {}),
    deliveries: Number(h?.get(Header.DELIVERIES) || 0),
    time: sm.time.toISOString(),
    ...(typeof id === 'string' ? { eventId: id } : {}),
    data,
    headers: headerRecord(h),
  };
}

export interface ListDlqOptions {
  limit?: number;
  /** Original subject filter, NATS wildcards allowed (e.g. 'job.>', 'webhook.send'). */
  subject?: string;
  /** Stop scanning after this many sequences (bounds a filtered scan of a huge DLQ). */
  maxScan?: number;
}

/** Dead letters, newest first. */
export async function listDlq(jsm: JetStreamManager, opts: ListDlqOptions = {}): Promise<DlqEntry[]> {
  const limit = opts.limit ?? 50;
  const maxScan = opts.maxScan ?? 10_000;
  const info = await jsm.streams.info(DLQ_STREAM);
  const out: DlqEntry[] = [];
  const first = info.state.first_seq;
  for (let seq = info.state.last_seq, scanned = 0; seq >= first && seq > 0; seq--, scanned++) {
    if (out.length >= limit || scanned >= maxScan) break;
    let sm: Awaited<ReturnType<typeof jsm.streams.getMessage>>;
    try {
      sm = await jsm.streams.getMessage(DLQ_STREAM, { seq });
    } catch (err) {
      if (isNotFound(err)) continue; // deleted or expired
      throw err;
    }
    const entry = entryOf(sm);
    if (opts.subject && !subjectMatches(opts.subject, entry.originalSubject)) continue;
    out.push(entry);
  }
  return out;
}

type StoredMsg = Awaited<ReturnType<JetStreamManager['streams']['getMessage']>>;

/** The stored dead letter; PermanentError DLQ_MESSAGE_NOT_FOUND when absent (never there, expired or re-driven). */
async function storedDeadLetter(jsm: JetStreamManager, seq: number): Promise<StoredMsg> {
  try {
    return await jsm.streams.getMessage(DLQ_STREAM, { seq });
  } catch (err) {
    if (isNotFound(err)) {
      throw new PermanentError(`no dead letter with seq ${seq}`, {
        code: ErrorCode.DLQ_MESSAGE_NOT_FOUND,
        details: { seq },
      });
    }
    throw err;
  }
}

/** One dead letter by its DLQ sequence; PermanentError DLQ_MESSAGE_NOT_FOUND when absent. */
export async function getDlqEntry(jsm: JetStreamManager, seq: number): Promise<DlqEntry> {
  return entryOf(await storedDeadLetter(jsm, seq));
}

/** What a replay did: where the message went again, and whether its dead letter left the DLQ. */
export interface DlqReplay {
  /** The dead letter's sequence in VIGIL_DLQ. */
  dlqSeq: number;
  /** The original subject, and the stream and sequence that hold the re-published copy. */
  subject: string;
  stream: string;
  seq: number;
  /** The stream already held this replay (a kept entry replayed again inside the duplicate window): nothing new queued. */
  duplicate: boolean;
  /** Gone from VIGIL_DLQ; false = kept (`keptReason`), and replaying it again is harmless. */
  removed: boolean;
  keptReason?: string;
}

/**
 * Re-drives a dead letter: publishes its original payload and headers to its original subject again, with a new
 * Nats-Msg-Id (`<old>.replay.<seq>`: the original id may still be inside the duplicate window), and once that copy
 * is stored removes the entry, so DLQ depth (health) counts only what still needs a look; a copy that fails again is
 * a new entry. A failed removal keeps the entry and the replay stands: replaying it again is a duplicate inside the
 * window, and a repeat the consumer must tolerate after it (webhooks never re-sends a delivered id).
 */
export async function replayDlq(js: JetStreamClient, jsm: JetStreamManager, seq: number): Promise<DlqReplay> {
  const sm = await storedDeadLetter(jsm, seq);
  const original = sm.header?.get(Header.ORIGINAL_SUBJECT) || sm.subject.slice(4);
  const oldId = sm.header?.get(Header.ORIGINAL_MSG_ID) || `dlq-${seq}`;
  const h = natsHeaders();
  if (sm.header) {
    for (const [k, vs] of sm.header) {
      if (DLQ_HEADERS.has(k.toLowerCase())) continue;
      for (const v of vs) h.append(k, v);
    }
  }
  h.set(Header.REPLAY_OF, String(seq));
  const data = sm.header?.get(Header.PAYLOAD_DROPPED) ? await droppedPayload(jsm, sm.header, seq) : sm.data;
  const ack = await publishDurable(js, original, data, { headers: h, msgID: `${oldId}.replay.${seq}` });
  const removal = await removeDlqEntry(jsm, seq);
  return {
    dlqSeq: seq,
    subject: original,
    stream: ack.stream,
    seq: ack.seq,
    duplicate: ack.duplicate,
    ...removal,
  };
}

/**
 * Deletes a dead letter that needs no look any more (re-driven, or its message was handled since); a failure only
 * keeps it, with why.
 */
export async function removeDlqEntry(
  jsm: JetStreamManager,
  seq: number,
): Promise<{ removed: boolean; keptReason?: string }> {
  try {
    if (await jsm.streams.deleteMessage(DLQ_STREAM, seq)) return { removed: true };
    return { removed: false, keptReason: 'the server did not confirm the delete' };
  } catch (err) {
    // A concurrent replay of the same entry removed it first: gone is what was asked.
    if (isNotFound(err)) return { removed: true };
    return { removed: false, keptReason: (err as Error)?.message || String(err) };
  }
}

/** A dead letter stored without its payload replays the original message's payload, read from its own stream. */
async function droppedPayload(jsm: JetStreamManager, h: MsgHdrs, seq: number): Promise<Uint8Array> {
  const stream = h.get(Header.ORIGINAL_STREAM);
  const originalSeq = Number(h.get(Header.ORIGINAL_SEQ));
  const gone = () =>
    new PermanentError(
      `dead letter ${seq} was stored without its payload, and the original (${stream} #${originalSeq}) is gone`,
      { code: ErrorCode.DLQ_MESSAGE_NOT_FOUND, details: { seq, stream, originalSeq } },
    );
  if (!stream || !Number.isInteger(originalSeq)) throw gone();
  try {
    return (await jsm.streams.getMessage(stream, { seq: originalSeq })).data;
  } catch (err) {
    if (isNotFound(err)) throw gone();
    throw err;
  }
}

/** Number of messages in the dead-letter stream. */
export async function dlqDepth(jsm: JetStreamManager): Promise<number> {
  const info = await jsm.streams.info(DLQ_STREAM);
  return info.state.messages;
}
