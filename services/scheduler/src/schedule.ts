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
    // croner can answer an instant at or before the reference around a fall-back (it maps the reference
    // back to the first occurrence of a repeated hour); step the reference forward until it moves on.
    let ref = afterMs;
    for (let i = 0; i < 8; i++) {
      const candidate = this.cron.nextRun(new Date(ref))?.getTime();
      if (candidate === undefined) return undefined;
      if (candidate > afterMs) return candidate;
      ref += HOUR / 2;
    }
    return undefined;
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
