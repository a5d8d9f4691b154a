import type { CapturedMail } from '@vigil/shared/testing';

type Nc = { jetstreamManager(): Promise<JsmLike> };
interface JsmLike {
  streams: {
    info(name: string): Promise<{ state: { first_seq: number; last_seq: number } }>;
    getMessage(name: string, q: { seq: number }): Promise<{ subject: string; data: Uint8Array }>;
  };
}

export interface StoredEvent {
  seq: number;
  subject: string;
  event: any;
}

/** Every message kept in a stream, in order (direct gets: no consumer left behind on the server). */
export async function readStream(nc: Nc, stream: string): Promise<StoredEvent[]> {
  const jsm = await nc.jetstreamManager();
  const { state } = await retrying(() => jsm.streams.info(stream));
  const out: StoredEvent[] = [];
  const seqs: number[] = [];
  for (let seq = state.first_seq; seq > 0 && seq <= state.last_seq; seq++) seqs.push(seq);
  const dec = new TextDecoder();
  for (let i = 0; i < seqs.length; i += 64) {
    const batch = await Promise.all(
      seqs.slice(i, i + 64).map(async (seq) => {
        try {
          const m = await retrying(() => jsm.streams.getMessage(stream, { seq }));
          return { seq, subject: m.subject, event: JSON.parse(dec.decode(m.data)) };
        } catch (err) {
          if (/no message found|not found/i.test(String(err))) return undefined; // deleted
          throw err;
        }
      }),
    );
    for (const e of batch) if (e) out.push(e);
  }
  return out;
}

/** The broker may still be settling after a restart: a few tries before giving up. */
async function retrying<T>(fn: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries || /no message found|not found/i.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 500 * i));
    }
  }
}

export const TERMINAL = ['succeeded', 'failed', 'partial'] as const;

export interface Ledger {
  requested: number;
  ended: number;
  lost: string[];
  duplicated: string[];
  failed: string[];
  emails: number;
  failedWithoutEmail: string[];
  failedWithManyEmails: string[];
  /** Copies of an email re-sent under the same Message-ID (a crash between SMTP acceptance and the dedupe record). */
  resentCopies: number;
}

/**
 * What the chaos run must prove, from the durable record (the VIGIL_JOBS stream) and the inbox:
 * every requested run has exactly one terminal event, every failed run exactly one email naming it.
 */
export function ledger(jobEvents: StoredEvent[], expectedRunIds: Iterable<string>, mails: CapturedMail[]): Ledger {
  const requested = new Set<string>(expectedRunIds);
  for (const e of jobEvents) if (e.subject.startsWith('job.requested.')) requested.add(e.event.data.runId);
  const terminal = new Map<string, Set<string>>();
  const failed = new Set<string>();
  for (const e of jobEvents) {
    const kind = e.subject.split('.')[1];
    if (!(TERMINAL as readonly string[]).includes(kind)) continue;
    const runId: string = e.event.data.runId;
    // distinct CloudEvent ids: JetStream already dropped publishes repeated with the same Nats-Msg-Id
    const ids = terminal.get(runId) ?? new Set<string>();
    ids.add(e.event.id);
    terminal.set(runId, ids);
    if (kind === 'failed') failed.add(runId);
  }
  const lost = [...requested].filter((r) => !terminal.has(r));
  const duplicated = [...terminal].filter(([, ids]) => ids.size > 1).map(([r]) => r);
  const failureMails = mails.filter((m) => m.subject.includes('CRITICAL'));
  // One notification = one Message-ID: mail servers and clients collapse a copy re-sent with the same id.
  const idsFor = (runId: string) =>
    new Set(failureMails.filter((m) => m.text.includes(runId)).map((m) => m.headers['message-id'] ?? m.text));
  const emailsFor = (runId: string) => idsFor(runId).size;
  const distinct = new Set(failureMails.map((m) => m.headers['message-id'] ?? m.text)).size;
  const failedList = [...failed];
  return {
    requested: requested.size,
    ended: terminal.size,
    lost,
    duplicated,
    failed: failedList,
    emails: mails.length,
    failedWithoutEmail: failedList.filter((r) => emailsFor(r) === 0),
    failedWithManyEmails: failedList.filter((r) => emailsFor(r) > 1),
    resentCopies: failureMails.length - distinct,
  };
}
