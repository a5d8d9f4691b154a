import { ensureDurable, type Logger, PullConsumer, type PulledMessage } from '@vigil/shared';
import type { JetStreamManager, NatsConnection } from 'nats';

export const RUNNER_STREAM = 'VIGIL_JOBS';
export const RUNNER_DURABLE = 'runner';
export const RUNNER_SUBJECT = 'job.requested.>';

/** What the runner holds right now: intake pulls only what fits. */
export interface RunnerLoad {
  /** Handlers running, and runs waiting for a slot. */
  running: number;
  queued: number;
  /** Runs whose claim is being written (about to take a slot). */
  claiming: number;
  /** Requests received and not yet acknowledged. */
  held: number;
  /** Moving average of handler durations. */
  avgHandlerMs: number;
}

export interface RunIntakeDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  log: Logger;
  ackWaitMs: number;
  concurrency: number;
  /** Most requests held at once (received, not yet acknowledged). */
  maxHeld: number;
  load: () => RunnerLoad;
  onMessage: (msg: PulledMessage) => void;
}

/**
 * Where runs come from: the shared durable consumer `runner` (N replicas split the work), pulled only as far as
 * this replica has room, and re-created when it goes away.
 */
export class RunIntake {
  private puller?: PullConsumer;
  private rebinding = false;
  private healthy = false;
  private stopped = false;

  constructor(private readonly d: RunIntakeDeps) {}

  /** False while the consumer is being re-created (a readiness check reports it). */
  get consuming(): boolean {
    return this.healthy && !this.stopped;
  }

  async start(): Promise<void> {
    await this.bind();
    this.puller = new PullConsumer(this.d.nc, {
      stream: RUNNER_STREAM,
      durable: RUNNER_DURABLE,
      onMessage: this.d.onMessage,
      onDrained: () => this.refill(),
      onLost: (why) => void this.rebind(why),
    });
    this.healthy = true;
    this.refill();
  }

  stop(): void {
    this.stopped = true;
    this.puller?.stop();
  }

  /** Pull requests do not survive a broker restart: forget them and ask again. */
  reset(): void {
    this.puller?.reset();
    this.refill();
  }

  /**
   * Asks for only as many requests as there is room for; each is handed to onMessage on arrival (where it is
   * heartbeated). Nothing waits unseen in a client buffer: a request buffered past the ack wait would be
   * redelivered to another replica while this one still holds it as a first delivery.
   */
  refill(): void {
    const puller = this.puller;
    if (this.stopped || this.rebinding || !puller) return;
    const load = this.d.load();
    // Long runs fill the slot queue: stop pulling then, so idle replicas get the work instead of this one
    // hoarding it. Short runs keep the queue empty and the pull window wide (bookkeeping is pipelined).
    const free = this.d.concurrency - load.running - load.queued;
    if (free <= 0) return;
    const outstanding = puller.outstanding;
    const room = this.d.maxHeld - load.held - outstanding;
    if (load.avgHandlerMs < 50) {
      const minBatch = Math.max(1, Math.min(50, Math.floor(this.d.maxHeld / 4)));
      if (room >= minBatch || (outstanding === 0 && room > 0)) puller.pull(Math.min(room, 500));
    } else {
      // Long runs: at most twice the free slots, so a replica never grabs far more than it can start (runs whose
      // claim is being written are about to take a slot: they count as taken).
      const want = Math.min(room, 2 * (free - load.claiming) - outstanding);
      if (want > 0) puller.pull(want);
    }
  }

  /** Creates the durable consumer if needed (idempotent: replicas race for it harmlessly). */
  private async bind(): Promise<void> {
    await ensureDurable(this.d.jsm, {
      stream: RUNNER_STREAM,
      durable: RUNNER_DURABLE,
      subject: RUNNER_SUBJECT,
      ackWaitMs: this.d.ackWaitMs,
      deliverPolicy: 'all',
    });
  }

  /**
   * The consumer may be gone (deleted, or a pull went unanswered): re-create it, retrying every second. The
   * pull consumer itself is kept (same inbox), so nothing already on its way to this replica is dropped.
   */
  private async rebind(why: string): Promise<void> {
    if (this.rebinding || this.stopped) return;
    this.rebinding = true;
    this.healthy = false;
    // Usually a pull request lost in a broker restart or reconnect (the consumer is still there and work goes on):
    // said as such, so a routine reconnect does not read like an incident.
    this.d.log.warn({ why }, 'runner consumer may be gone: checking it (re-created if missing) and pulling again');
    while (!this.stopped) {
      try {
        await this.bind();
        this.healthy = true;
        break;
      } catch (err) {
        this.d.log.warn({ err }, 'runner consumer not re-created; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    this.rebinding = false;
    this.puller?.reset();
    this.refill();
  }
}
