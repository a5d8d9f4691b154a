import type { BreakerIncident, BreakerRef } from './breaker-incident.js';
import type { DedupeStore } from './dedupe-store.js';

/**
 * Which breaker openings may still be open: the watchdog's rounds look at these (breaker-reconcile.ts). The opening
 * records cannot be listed by key: `incident.breaker:<service>.<name>` holds characters KV keys do not allow (`:`,
 * and the URLs in breaker names), so its KV key is a SHA-256 hash (dedupe-store.ts kvSafeKey) with no prefix to
 * filter on. Hence this one JSON record, `incident.breakers-open` (stored under its hash like every incident record),
 * changed only by compare-and-set: an opening is added when it is recorded (breaker-notices.ts), and dropped once it
 * has ended and its notice (if any) went out, or its record expired. Pure helpers first, then the store.
 */
export const BREAKER_INDEX_SCOPE = 'breakers-open';

/** A bound on the record's size (a few hundred bytes each): more breakers open at once than this are not followed. */
export const MAX_INDEXED = 500;

export interface IndexedOpening extends BreakerRef {
  /** The opening's first `breaker.opened` (ms): an entry is dropped only for an opening that began no later. */
  since: number;
}

export interface BreakerIndex {
  open: Record<string, IndexedOpening>;
}

/** Adds (or refreshes) the opening of `scope`; undefined: nothing to write (already there, or the index is full). */
export function addOpening(cur: BreakerIndex | undefined, scope: string, e: IndexedOpening): BreakerIndex | undefined {
  const open = cur?.open ?? {};
  const had = open[scope];
  if (had && had.since === e.since && had.service === e.service && had.name === e.name) return undefined;
  if (!had && Object.keys(open).length >= MAX_INDEXED) return undefined;
  return { open: { ...open, [scope]: { service: e.service, name: e.name, since: e.since } } };
}

/**
 * Drops the entry of `scope` if it is about an opening that began at or before `upTo` (the one that ended, or
 * expired): an opening recorded since (a fresh one after that close) keeps its entry.
 */
export function dropOpening(cur: BreakerIndex | undefined, scope: string, upTo: number): BreakerIndex | undefined {
  const had = cur?.open[scope];
  if (!cur || !had || had.since > upTo) return undefined;
  const { [scope]: _dropped, ...open } = cur.open;
  return { open };
}

export class BreakerIndexStore {
  constructor(private readonly dedupe: DedupeStore) {}

  /** After an opening record was written: it is followed until it ends. Throws when the index cannot be written. */
  async add(scope: string, inc: BreakerIncident): Promise<boolean> {
    const e: IndexedOpening = { service: inc.service, name: inc.name, since: inc.since };
    return this.dedupe.applyIncident<BreakerIndex, boolean>(BREAKER_INDEX_SCOPE, (cur) => {
      const next = addOpening(cur, scope, e);
      return { next, result: next !== undefined || cur?.open[scope]?.since === e.since };
    });
  }

  async list(): Promise<Array<[scope: string, entry: IndexedOpening]>> {
    const index = await this.dedupe.applyIncident<BreakerIndex, BreakerIndex | undefined>(
      BREAKER_INDEX_SCOPE,
      (cur) => ({
        result: cur,
      }),
    );
    return Object.entries(index?.open ?? {});
  }

  async drop(scope: string, upTo: number): Promise<void> {
    await this.dedupe.applyIncident<BreakerIndex, void>(BREAKER_INDEX_SCOPE, (cur) => ({
      next: dropOpening(cur, scope, upTo),
      result: undefined,
    }));
  }
}
