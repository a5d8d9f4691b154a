/**
 * Deliveries in flight per destination (origin) in this process. The consumer's concurrency is shared by every
 * destination, and the HTTP pool queues requests past its connections per origin while they still hold a consumer
 * slot: without a cap, a receiver that hangs (or answers in seconds) with a backlog takes every slot, and a webhook
 * to a healthy receiver waits behind it. With the cap well below the concurrency, other destinations always find
 * free slots; a delivery past the cap is handed back before its attempt starts (delivery-worker.ts), so it burns
 * no attempt and is sent exactly as if it had arrived a moment later.
 */
export class DestinationSlots {
  private readonly busy = new Map<string, number>();

  constructor(readonly perDestination: number) {}

  /** A slot for `origin`, or undefined when it has `perDestination` deliveries in flight; release it once done. */
  take(origin: string): (() => void) | undefined {
    const n = this.busy.get(origin) ?? 0;
    if (n >= this.perDestination) return undefined;
    this.busy.set(origin, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.busy.get(origin) ?? 1) - 1;
      if (left > 0) this.busy.set(origin, left);
      else this.busy.delete(origin);
    };
  }

  inFlight(origin: string): number {
    return this.busy.get(origin) ?? 0;
  }
}

/**
 * The cap: no more than the HTTP pool's connections per origin (more would only queue inside undici), and a quarter
 * of the concurrency, so at least three quarters of it stay free for the other destinations whatever one does.
 */
export function perDestinationCap(concurrency: number, connectionsPerOrigin: number): number {
  return Math.max(1, Math.min(connectionsPerOrigin, Math.floor(concurrency / 4)));
}
