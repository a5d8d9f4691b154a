/**
 * Messages this consumer recently settled (acked or dead-lettered), by stream sequence and event id.
 * A broker killed hard can forget acks (even delivery counts) it received just before dying and
 * redeliver those messages after restart; a redelivery found here is acked again instead of running
 * its handler twice. The event id guards against a sequence reused after the broker lost messages.
 */
export class SettledRing {
  private readonly seqs: Float64Array;
  private readonly ids = new Map<number, string>();
  private next = 0;

  constructor(private readonly capacity = 16_384) {
    this.seqs = new Float64Array(capacity);
  }

  add(seq: number, eventId: string): void {
    if (this.ids.size >= this.capacity) this.ids.delete(this.seqs[this.next]);
    this.seqs[this.next] = seq;
    this.next = (this.next + 1) % this.capacity;
    this.ids.set(seq, eventId);
  }

  has(seq: number, eventId: string): boolean {
    return this.ids.get(seq) === eventId;
  }
}
