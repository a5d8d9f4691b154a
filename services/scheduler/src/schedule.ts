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

  /**
   * The longest gap between consecutive slots among the next `samples` after `fromMs` (a weekday job: the weekend),
   * undefined for manual-only jobs: how long "no success yet" is normal.
   */
  longestGap(fromMs: number, samples = 16): number | undefined {
    if (this.every) return this.every;
    let prev = this.next(fromMs);
    if (prev === undefined) return undefined;
    let longest = 0;
    for (let i = 0; i < samples; i++) {
      const at = this.next(prev);
      if (at === undefined) break;
      longest = Math.max(longest, at - prev);
      prev = at;
    }
    return longest || undefined;
  }

  /** Slots in (fromMs, toMs], oldest first, at most `limit` of them (the newest ones when there are more). */
  between(fromMs: number, toMs: number, limit = 1_000): number[] {
    return this.span(fromMs, toMs, limit).slots;
  }

  /**
   * Slots in (fromMs, toMs]: the newest `limit` of them one by one, the older ones (if any) only summed up.
   * The work is bounded whatever the range: croner costs ~250 µs a slot with a time zone, so walking a
   * per-second cron over a day of downtime slot by slot would block the event loop for ~22 s. At most about
   * `limit` x (2 + a few) + COUNT_BUDGET slots are computed; beyond that the count of the older ones is an
   * estimate (`exact: false`, from their density so far). `every:` jobs are counted exactly, by arithmetic.
   */
  span(fromMs: number, toMs: number, limit: number): SlotSpan {
    const head = this.walk(fromMs, toMs, limit + 1);
    if (head.length <= limit) return { slots: head };
    const first = head[0];
    if (this.every) {
      const e = this.every;
      const lastSlot = Math.floor(toMs / e) * e;
      const tailFirst = lastSlot - (limit - 1) * e;
      const slots: number[] = [];
      for (let at = tailFirst; at <= lastSlot; at += e) slots.push(at);
      return { slots, older: { count: (tailFirst - first) / e, exact: true, first, last: tailFirst - e } };
    }
    // cron: a start t whose tail (t, toMs] holds 1..limit slots, by bisecting its distance from toMs; the first
    // guess is the span the oldest `limit` + 1 slots took
    let lo = 0; // a distance known to hold no slot
    let hi = toMs - fromMs; // a distance known to hold more than `limit`
    let dist = Math.min(Math.max(head[limit] - first, 1), hi);
    let tail: number[] = [];
    let used = dist;
    for (let i = 0; i < 64; i++) {
      used = dist;
      tail = this.walk(toMs - used, toMs, limit + 1);
      if (tail.length > limit) hi = used;
      else if (tail.length === 0) lo = used;
      else break;
      dist = Math.floor((lo + hi) / 2);
      if (dist <= lo || dist >= hi) break;
    }
    // (not reached: cron slots are at least 1 s apart, so some distance holds 1..limit of them)
    if (tail.length > limit || tail.length === 0) return { slots: head.slice(-limit) };
    const t = toMs - used; // the older slots lie in (fromMs, t]
    let count = 0;
    let lastSeen = first;
    for (const slot of head) {
      if (slot > t) break;
      count++;
      lastSeen = slot;
    }
    if (count === head.length) {
      // every slot of the head is older: go on counting, up to the budget
      const more = this.walk(lastSeen, t, COUNT_BUDGET + 1);
      if (more.length > COUNT_BUDGET) {
        const walked = more[COUNT_BUDGET - 1];
        const n = count + COUNT_BUDGET;
        const estimate = n + Math.round(((t - walked) * (n - 1)) / Math.max(walked - first, 1));
        return { slots: tail, older: { count: estimate, exact: false, first } };
      }
      count += more.length;
      if (more.length > 0) lastSeen = more[more.length - 1];
    }
    return { slots: tail, older: { count, exact: true, first, last: lastSeen } };
  }

  /** Up to `max` slots in (fromMs, toMs], oldest first. */
  private walk(fromMs: number, toMs: number, max: number): number[] {
    const out: number[] = [];
    let at = fromMs;
    while (out.length < max) {
      const next = this.next(at);
      if (next === undefined || next > toMs) break;
      out.push(next);
      at = next;
    }
    return out;
  }
}

/** Slots counted beyond this many are estimated (see JobSchedule.span). */
const COUNT_BUDGET = 1_000;

export interface SlotSpan {
  /** The newest slots, oldest first: all of them when there were at most `limit`. */
  slots: number[];
  /** The slots older than `slots`, when there were more than `limit`: how many, the first and (when exact) the last. */
  older?: { count: number; exact: boolean; first: number; last?: number };
}
