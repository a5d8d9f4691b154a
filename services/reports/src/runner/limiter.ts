interface Waiter {
  /** Arrival order across keys. */
  seq: number;
  keyLimit: number;
  resolve: () => void;
}

/** One key's waiters in arrival order; a head index instead of shifting the array each time one starts. */
class KeyQueue {
  private items: Waiter[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(w: Waiter): void {
    this.items.push(w);
  }

  peek(): Waiter {
    return this.items[this.head];
  }

  shift(): Waiter {
    const w = this.items[this.head++];
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return w;
  }
}

/**
 * A global concurrency limit plus an optional per-key (per-job) limit. acquire() resolves when both have
 * room; waiting callers are served in arrival order per key, and across keys the oldest one that fits goes first.
 * release() must be called exactly once. Hundreds of runs may wait here on a busy runner, so nothing scans them:
 * waiters are queued per key and only each key's oldest is looked at.
 */
export class Limiter {
  private active = 0;
  private waiting = 0;
  private arrivals = 0;
  private readonly perKey = new Map<string, number>();
  /** Keys with waiters only. */
  private readonly queues = new Map<string, KeyQueue>();

  constructor(private readonly globalLimit: number) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting;
  }

  private take(key: string): void {
    this.active++;
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
  }

  /** Fast path without a promise when there is room (the hot path of short runs). */
  tryAcquire(key: string, keyLimit = Number.POSITIVE_INFINITY): boolean {
    // Waiters of other keys only wait for their own key's limit (release() serves every waiter that fits),
    // so only a waiter of the same key may not be overtaken.
    if (this.active >= this.globalLimit || (this.perKey.get(key) ?? 0) >= keyLimit || this.queues.has(key)) {
      return false;
    }
    this.take(key);
    return true;
  }

  acquire(key: string, keyLimit = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.tryAcquire(key, keyLimit)) return Promise.resolve();
    return new Promise((resolve) => {
      let q = this.queues.get(key);
      if (!q) {
        q = new KeyQueue();
        this.queues.set(key, q);
      }
      q.push({ seq: this.arrivals++, keyLimit, resolve });
      this.waiting++;
    });
  }

  release(key: string): void {
    this.active--;
    const n = (this.perKey.get(key) ?? 1) - 1;
    if (n <= 0) this.perKey.delete(key);
    else this.perKey.set(key, n);
    while (this.active < this.globalLimit) {
      // The oldest waiter whose key has room: one look per key with waiters (a job each).
      let next: KeyQueue | undefined;
      let nextKey = '';
      for (const [k, q] of this.queues) {
        const w = q.peek();
        if ((this.perKey.get(k) ?? 0) < w.keyLimit && (!next || w.seq < next.peek().seq)) {
          next = q;
          nextKey = k;
        }
      }
      if (!next) return;
      const w = next.shift();
      if (next.size === 0) this.queues.delete(nextKey);
      this.waiting--;
      this.take(nextKey);
      w.resolve();
    }
  }
}
