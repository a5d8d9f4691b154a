import type { Clock, TimerHandle } from '@vigil/shared';

export interface StartedTicket<T> {
  due: number;
  done: boolean;
  /** Dropped when the run finishes: the queue keeps tickets until they are due, not the runs they stood for. */
  payload?: T;
  /** Set once `job.started` was sent for this run. */
  started?: Promise<unknown>;
}

/**
 * Sends `job.started` only for runs that outlive the threshold. Every run has the same threshold, so due
 * times arrive in order: one FIFO and one timer serve all runs, instead of a timer set and cleared per run
 * (which showed up as the most expensive line of a short run).
 */
export class StartedNotifier<T> {
  private queue: StartedTicket<T>[] = [];
  private head = 0;
  private timer?: TimerHandle;

  constructor(
    private readonly clock: Clock,
    private readonly thresholdMs: number,
    /** Sends `job.started` for a run that is still going at its due time. */
    private readonly fire: (payload: T) => Promise<unknown>,
  ) {}

  track(startedAt: number, payload: T): StartedTicket<T> {
    const ticket: StartedTicket<T> = { due: startedAt + this.thresholdMs, done: false, payload };
    this.queue.push(ticket);
    if (!this.timer) this.arm();
    return ticket;
  }

  /** Marks the run finished; returns the pending job.started publish, if one was sent. */
  finish(ticket: StartedTicket<T>): Promise<unknown> | undefined {
    ticket.done = true;
    // A finished run held here until its due time survived young-generation collections and was promoted.
    ticket.payload = undefined;
    return ticket.started;
  }

  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
      return;
    }
    const wait = Math.max(0, this.queue[this.head].due - this.clock.now());
    this.timer = this.clock.setTimeout(() => this.tick(), wait);
  }

  private tick(): void {
    this.timer = undefined;
    const now = this.clock.now();
    while (this.head < this.queue.length && this.queue[this.head].due <= now) {
      const t = this.queue[this.head++];
      if (!t.done && t.payload !== undefined) t.started = this.fire(t.payload);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }
}
