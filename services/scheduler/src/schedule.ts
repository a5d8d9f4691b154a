import type { JobDefinition } from '@vigil/shared';
import { Cron } from 'croner';

const HOUR = 3_600_000;

/**
 * When a job's slots fall. `every:` slots are aligned to the Unix epoch, so every replica (and a restarted
 * one) computes the same instants. Cron slots follow the job's zone; croner runs a wall-clock time that a
 * spring-forward skips once (at the first valid instant after the gap) and a repeated fall-back time once.
 */
export class JobSchedule {
  private readonly cron?: Cron;
  private readonly every?: number;

  constructor(job: Pick<JobDefinition, 'schedule' | 'every' | 'timezone'>) {
    if (job.schedule) {
      this.cron = new Cron(job.schedule, { timezone: job.timezone, mode: '5-or-6-parts', paused: true });
    } else if (job.every) {
      this.every = job.every;
    }
  }

  get scheduled(): boolean {
    return this.cron !== undefined || this.every !== undefined;
  }

  /** The first slot strictly after `afterMs`, or undefined for manual-only jobs. */
  next(afterMs: number): number | undefined {
    if (this.every) return Math.floor(afterMs / this.every) * this.every + this.every;
    if (!this.cron) return undefined;
    const cron = this.cron;
    const after = (ref: number) => cron.nextRun(new Date(ref))?.getTime();
    const first = after(afterMs);
    if (first === undefined || first > afterMs) return first;
    // afterMs lies in the second pass of an hour repeated by fall-back: croner maps the reference back to the
    // first pass and answers a slot at or before it (and it never runs the second pass: those wall times ran
    // once already). Its answer never decreases as the reference moves on, so find the smallest reference
    // whose answer is after afterMs; that answer is the true next slot. A big step forward alone would jump
    // past real slots (e.g. 03:00-03:20 CET, right after the repeated hour).
    let lo = afterMs;
    let hi: number | undefined;
    for (let i = 1; i <= 8; i++) {
      const ref = afterMs + (i * HOUR) / 2;
      const candidate = after(ref);
      if (candidate === undefined) return undefined;
      if (candidate > afterMs) {
        hi = ref;
        break;
      }
      lo = ref;
    }
    if (hi === undefined) return undefined;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const candidate = after(mid);
      if (candidate !== undefined && candidate > afterMs) hi = mid;
      else lo = mid;
    }
    return after(hi);
  }

  /** Slots in (fromMs, toMs], oldest first, at most `limit` of them (the newest ones when there are more). */
  between(fromMs: number, toMs: number, limit = 1_000): number[] {
    const out: number[] = [];
    let at = fromMs;
    for (;;) {
      const next = this.next(at);
      if (next === undefined || next > toMs) break;
      out.push(next);
      if (out.length > limit) out.shift();
      at = next;
    }
    return out;
  }
}
