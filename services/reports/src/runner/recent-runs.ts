import type { JobRun } from '@vigil/shared';
import type { RunSummary } from './run-journal.js';

/** A run this replica finished: its request and summary rebuild its terminal event (kept small: see below). */
export type RecentRun = { runId: string; at: number; req: JobRun; summary: RunSummary };

/**
 * Runs this replica finished lately, by request sequence: a repeat delivery is answered from memory. Two
 * generations of maps instead of evicting the oldest key one at a time: V8 leaves deleted entries as holes at
 * the front of a Map, so "delete the first key" on every run grew costly.
 */
export class RecentRuns {
  private current = new Map<number, RecentRun>();
  private previous = new Map<number, RecentRun>();

  constructor(private readonly generation: number) {}

  add(seq: number, run: RecentRun): void {
    this.current.set(seq, run);
    if (this.current.size >= this.generation) {
      this.previous = this.current;
      this.current = new Map();
    }
  }

  get(seq: number): RecentRun | undefined {
    return this.current.get(seq) ?? this.previous.get(seq);
  }

  has(seq: number): boolean {
    return this.current.has(seq) || this.previous.has(seq);
  }

  /** Runs finished at or after `since`, oldest first, at most `max` (the newest ones). */
  since(since: number, max: number): [number, RecentRun][] {
    const all = [...this.previous, ...this.current].filter(([, r]) => r.at >= since);
    return all.slice(-max);
  }
}
