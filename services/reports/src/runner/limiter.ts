/**
 * A global concurrency limit plus an optional per-key (per-job) limit. acquire() resolves when both have
 * room; waiting callers are served in arrival order per key. release() must be called exactly once.
 */
export class Limiter {
  private active = 0;
  private readonly perKey = new Map<string, number>();
  private readonly waiting: { key: string; keyLimit: number; resolve: () => void }[] = [];

  constructor(private readonly globalLimit: number) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  private fits(key: string, keyLimit: number): boolean {
    return this.active < this.globalLimit && (this.perKey.get(key) ?? 0) < keyLimit;
  }

  private take(key: string): void {
    this.active++;
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
  }

  /** Fast path without a promise when there is room (the hot path of short runs). */
  tryAcquire(key: string, keyLimit = Number.POSITIVE_INFINITY): boolean {
    // Waiters of other keys only wait for their own key's limit (release() serves every waiter that fits),
    // so only a waiter of the same key may not be overtaken.
    if (!this.fits(key, keyLimit) || this.waiting.some((w) => w.key === key)) return false;
    this.take(key);
    return true;
  }

  acquire(key: string, keyLimit = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.tryAcquire(key, keyLimit)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ key, keyLimit, resolve }));
  }

  release(key: string): void {
    this.active--;
    const n = (this.perKey.get(key) ?? 1) - 1;
    if (n <= 0) this.perKey.delete(key);
    else this.perKey.set(key, n);
    for (let i = 0; i < this.waiting.length && this.active < this.globalLimit; i++) {
      const w = this.waiting[i];
      if (this.fits(w.key, w.keyLimit)) {
        this.waiting.splice(i, 1);
        i--;
        this.take(w.key);
        w.resolve();
      }
    }
  }
}
