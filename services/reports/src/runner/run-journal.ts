import type { KV } from 'nats';
import { jsonQuote } from './json-quote.js';
import type { RunOutcome, TerminalStatus } from './run-outcome.js';

/** A terminal event kept whole: what pages written by earlier versions hold (read back, no longer written). */
export interface DoneRecord {
  subject: string;
  msgId: string;
  /** The CloudEvent JSON exactly as published. */
  event: string;
}

/**
 * What a finished run needs to rebuild its terminal event, byte for byte, from its request (see terminalEvent):
 * about a tenth of the event's size, which is what the journal stores per run.
 */
export interface RunSummary {
  status: TerminalStatus;
  /** The terminal event's id. */
  id: string;
  startedAt: number;
  finishedAt: number;
  attempts: number;
  /** The outcome when it says more than its status (stats, failures, error, details). */
  outcome?: RunOutcome;
}

interface ClaimEntry {
  seq: number;
  runId: string;
  at: number;
}

interface DoneEntry {
  seq: number;
  runId: string;
  done: RunSummary;
}

interface Page {
  instance: string;
  c: [number, string, number][];
  /** [seq, runId, subject, msgId, event]; `event` is the CloudEvent object (written raw, see flush). */
  d?: [number, string, string, string, unknown][];
  /** [seq, runId, status, eventId, startedAt, finishedAt, attempts, outcome or 0]. */
  s?: [number, string, TerminalStatus, string, number, number, number, RunOutcome | 0][];
}

interface PageDraft {
  c: [number, string, number][];
  d: DoneEntry[];
}

export interface LookupResult {
  claims: { instance: string; runId: string; at: number }[];
  /** The run finished: its whole terminal event (`record`) or what rebuilds it (`summary`). */
  done?: { runId: string; record?: DoneRecord; summary?: RunSummary };
}

/** Request sequences per key prefix: a redelivery lists only the pages of its own range. */
const RANGE = 4096;

/**
 * The runner's idempotency record, written by group commit. Instead of one create-only KV write per run
 * (a durable round trip that halves throughput), every claim ("I am about to execute the request at stream
 * sequence S") and every completion ("S finished, here is what rebuilds its terminal event") waiting at a moment is
 * written together as ONE immutable KV entry per sequence range: `r<S/4096>.<instance>.<n>`. Callers await
 * durability before they act (claim before side effects, done before the terminal publish and the ack).
 * Only a redelivered message (rare) reads pages back: it lists the keys of its range and looks for S.
 */
export class RunJournal {
  private pendingClaims: ClaimEntry[] = [];
  private pendingDone: DoneEntry[] = [];
  /** The next group commit: every claim and completion waiting for it shares its promise. */
  private next?: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void };
  private flushing = false;
  private scheduled = false;
  private pageNo = 0;
  private readonly cache = new Map<string, Page>();

  constructor(
    private readonly kv: KV,
    readonly instance: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves once the claim is durable. */
  claim(seq: number, runId: string): Promise<void> {
    this.pendingClaims.push({ seq, runId, at: this.now() });
    return this.enqueue();
  }

  /** Resolves once the completion (the summary that rebuilds its terminal event) is durable. */
  complete(seq: number, runId: string, done: RunSummary): Promise<void> {
    this.pendingDone.push({ seq, runId, done });
    return this.enqueue();
  }

  private enqueue(): Promise<void> {
    if (!this.next) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Nobody may be waiting when it fails (callers attach their own handlers).
      promise.catch(() => undefined);
      this.next = { promise, resolve, reject };
    }
    this.schedule();
    return this.next.promise;
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    // One macrotask lets every run finishing in this turn join the same write.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const commit = this.next;
    if (!commit) return;
    this.flushing = true;
    const claims = this.pendingClaims;
    const done = this.pendingDone;
    this.pendingClaims = [];
    this.pendingDone = [];
    this.next = undefined;
    try {
      const pages = new Map<number, PageDraft>();
      const pageFor = (seq: number) => {
        const range = Math.floor(seq / RANGE);
        let page = pages.get(range);
        if (!page) {
          page = { c: [], d: [] };
          pages.set(range, page);
        }
        return page;
      };
      for (const c of claims) pageFor(c.seq).c.push([c.seq, c.runId, c.at]);
      for (const d of done) pageFor(d.seq).d.push(d);
      const n = ++this.pageNo;
      await Promise.all(
        [...pages].map(([range, page]) => this.kv.put(`r${range}.${this.instance}.${n}`, this.serialize(page))),
      );
      commit.resolve();
    } catch (err) {
      commit.reject(err);
    } finally {
      this.flushing = false;
      if (this.next) this.schedule();
    }
  }

  /** Records that this instance is alive (called on every heartbeat tick). */
  async markAlive(): Promise<void> {
    await this.kv.put(`live.${this.instance}`, String(this.now()));
  }

  /** When `instance` last said it was alive, or undefined. */
  async aliveAt(instance: string): Promise<number | undefined> {
    const e = await this.kv.get(`live.${instance}`);
    if (e?.operation !== 'PUT' || e.value.length === 0) return undefined;
    const at = Number(e.string());
    return Number.isFinite(at) ? at : undefined;
  }

  /**
   * Page JSON. `d` (whole terminal events, what earlier versions wrote) stays in every page, empty, so replicas of
   * an earlier version still read pages written by this one during a rolling upgrade.
   */
  private serialize(page: PageDraft): string {
    const sums = page.d.map(({ seq, runId, done }) => {
      const outcome = done.outcome ? JSON.stringify(done.outcome) : '0';
      return `[${seq},${jsonQuote(runId)},"${done.status}",${jsonQuote(done.id)},${done.startedAt},${done.finishedAt},${done.attempts},${outcome}]`;
    });
    return `{"instance":${JSON.stringify(this.instance)},"c":${JSON.stringify(page.c)},"d":[],"s":[${sums.join(',')}]}`;
  }

  /**
   * Everything the journal knows about the request at stream sequence `seq` (any instance); with `runId`, only
   * records of that run (a sequence reused by another run after the broker lost the stream's tail is not it).
   */
  async lookup(seq: number, runId?: string): Promise<LookupResult> {
    const range = Math.floor(seq / RANGE);
    const keys: string[] = [];
    for await (const k of await this.kv.keys(`r${range}.>`)) keys.push(k);
    const result: LookupResult = { claims: [] };
    for (const key of keys) {
      let page = this.cache.get(key);
      if (!page) {
        const entry = await this.kv.get(key);
        if (!entry || entry.value.length === 0) continue;
        page = JSON.parse(entry.string()) as Page;
        // Pages are written once, so a cached copy never goes stale.
        if (this.cache.size > 2000) this.cache.clear();
        this.cache.set(key, page);
      }
      const other = (id: string) => runId !== undefined && id !== runId;
      for (const [s, id, at] of page.c) {
        if (s === seq && !other(id)) result.claims.push({ instance: page.instance, runId: id, at });
      }
      for (const [s, id, subject, msgId, event] of page.d ?? []) {
        if (s === seq && !other(id))
          result.done = { runId: id, record: { subject, msgId, event: JSON.stringify(event) } };
      }
      for (const [s, id, status, eventId, startedAt, finishedAt, attempts, outcome] of page.s ?? []) {
        if (s !== seq || other(id)) continue;
        const summary: RunSummary = { status, id: eventId, startedAt, finishedAt, attempts };
        if (outcome) summary.outcome = outcome;
        result.done = { runId: id, summary };
      }
    }
    return result;
  }
}
