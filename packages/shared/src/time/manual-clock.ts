import { type Clock, sleepOn, type TimerHandle } from './clock.js';

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets every promise callback queued so far (and the ones they queue) run before the next timer. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that only moves when told to. advance() fires due timers in time order (ties in creation order),
 * setting now() to each timer's time and letting async work settle between them, as real time would.
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: ManualTimer[] = [];
  private nextId = 1;

  constructor(startMs: number | Date = 0) {
    this.current = typeof startMs === 'number' ? startMs : startMs.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: number }).id;
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Number of timers not yet fired (tests wait for a component to arm its timer before advancing). */
  pending(): number {
    return this.timers.length;
  }

  /** When the earliest pending timer is due, if any. */
  nextTimerAt(): number | undefined {
    return this.timers.reduce<number | undefined>(
      (min, t) => (min === undefined || t.at < min ? t.at : min),
      undefined,
    );
  }

  async advance(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    await settle();
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) if (t.at <= target && (!next || t.at < next.at)) next = t;
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = next.at;
      next.fn();
      await settle();
    }
    this.current = target;
    await settle();
  }

  /**
   * The process was frozen for `ms` (a paused VM, a SIGSTOP): time moves on with no timer firing, then every timer
   * that fell due meanwhile fires at once, late (now() stays at the end of the stall), in time order.
   */
  async stall(ms: number): Promise<void> {
    this.current += Math.max(0, ms);
    await settle();
    for (;;) {
      let due: ManualTimer | undefined;
      for (const t of this.timers) if (t.at <= this.current && (!due || t.at < due.at)) due = t;
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      due.fn();
      await settle();
    }
  }

  /** Moves to an absolute time (never backwards), firing what falls due. */
  async set(ms: number | Date): Promise<void> {
    const to = typeof ms === 'number' ? ms : ms.getTime();
    await this.advance(Math.max(0, to - this.current));
  }
}
