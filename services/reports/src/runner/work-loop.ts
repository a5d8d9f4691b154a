import { isTracingEnabled, type JobRun, type PulledMessage } from '@vigil/shared';
import { RunCancelledError } from './cancelled-error.js';
import type { ExecuteResult } from './execute-run.js';
import { type ExecuteSlotDeps, executeSlot } from './execute-slot.js';
import { refuseInvalidRequest } from './invalid-request.js';
import { Limiter } from './limiter.js';
import { Redelivery } from './redelivery.js';
import { RunEventsOut } from './run-events-out.js';
import { startedEvent, terminalEventJson } from './run-event.js';
import type { RunSummary } from './run-journal.js';
import { RunCancellations } from './run-cancellations.js';
import { RunMetrics } from './run-metrics.js';
import { isPlainOutcome, type RunOutcome } from './run-outcome.js';
import { parseRunRequest } from './run-request.js';
import { RunIntake } from './run-intake.js';
import { persistAfter } from './persist-after.js';
import { RunSlot } from './run-slot.js';
import { runInSpan } from './run-span.js';
import { StartedNotifier } from './started-notifier.js';
import type { WorkLoopDeps } from './work-loop-deps.js';

export { RUNNER_DURABLE, RUNNER_STREAM, RUNNER_SUBJECT } from './run-intake.js';
export type { WorkLoopDeps } from './work-loop-deps.js';

/** Longer waits than this for `notBefore` go back to the stream (nak with delay) instead of memory. */
const MAX_IN_MEMORY_DELAY_MS = 60_000;

/**
 * The runner's consume loop: one shared durable pull consumer (N replicas split the work), a global and
 * per-job concurrency limit, heartbeats for queued and long runs, group-committed idempotency records,
 * one durable publish per short run. A run: claim (journal) → slot → handler → done (journal) → terminal
 * event → ack; each step is durable before the next, so a crash anywhere repeats no side effect that finished.
 */
export class WorkLoop {
  private readonly limiter: Limiter;
  private readonly inflight = new Map<number, RunSlot>();
  private readonly cancellations = new RunCancellations();
  private readonly executeDeps: ExecuteSlotDeps;
  private readonly intake: RunIntake;
  /** Moving average of handler durations; starts pessimistic (long) until runs show otherwise. */
  private avgHandlerMs = 1000;
  private heartbeat?: ReturnType<typeof setInterval>;
  private stopping = false;
  /** Runs waiting for their claim to be durable before they take a slot. */
  private claiming = 0;
  private readonly startedNotifier: StartedNotifier<RunSlot>;
  private readonly runMetrics?: RunMetrics;
  private readonly out: RunEventsOut;
  private readonly redelivery: Redelivery;

  constructor(private readonly d: WorkLoopDeps) {
    this.limiter = new Limiter(d.concurrency);
    this.intake = new RunIntake({
      nc: d.nc,
      jsm: d.jsm,
      log: d.log,
      ackWaitMs: d.ackWaitMs,
      concurrency: d.concurrency,
      maxHeld: Math.max(1000, d.concurrency * 20),
      load: () => ({
        running: this.limiter.running,
        queued: this.limiter.queued,
        claiming: this.claiming,
        held: this.inflight.size,
        avgHandlerMs: this.avgHandlerMs,
      }),
      onMessage: (msg) => this.onMessage(msg),
    });
    this.executeDeps = {
      cancellations: this.cancellations,
      resolveHandler: d.resolveHandler,
      baseDir: d.baseDir,
      secrets: d.secrets,
      clock: d.clock,
    };
    this.runMetrics = d.metrics ? new RunMetrics(d.metrics) : undefined;
    this.out = new RunEventsOut(d.publisher, this.runMetrics);
    this.startedNotifier = new StartedNotifier(d.clock, d.startedAfterMs, (slot: RunSlot) =>
      this.out
        .publish(
          `job.started.${slot.job}`,
          JSON.stringify(startedEvent(slot.req, slot.startedAt)),
          `${slot.runId}.started`,
          slot.msg,
          slot.runId,
          slot.traceContext,
        )
        .catch((err: unknown) => slot.log().warn({ err }, 'job.started not published')),
    );
    this.redelivery = new Redelivery({
      journal: d.journal,
      out: this.out,
      log: d.log,
      clock: d.clock,
      ackWaitMs: d.ackWaitMs,
      stopping: () => this.stopping,
    });
  }

  get running(): number {
    return this.limiter.running;
  }

  /** False while the consumer is being re-created (a readiness check reports it). */
  get consuming(): boolean {
    return this.intake.consuming && !this.stopping;
  }

  async start(): Promise<void> {
    await this.d.journal.markAlive();
    await this.intake.start();
    this.heartbeat = setInterval(
      () => {
        this.intake.refill();
        for (const slot of this.inflight.values()) slot.msg.working();
        this.d.journal.markAlive().catch((err: unknown) => this.d.log.warn({ err }, 'liveness record not written'));
        this.cancellations.sweep();
      },
      Math.max(100, Math.floor(this.d.ackWaitMs / 3)),
    );
    this.heartbeat.unref();
  }

  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    this.intake.stop();
    const deadline = Date.now() + timeoutMs;
    while (this.inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.startedNotifier.stop();
    this.runMetrics?.stop();
  }

  /** The connection to the broker was lost (it may be restarting and dropping its last writes). */
  brokerLost(): void {
    this.redelivery.brokerLost();
  }

  /**
   * The broker reconnected (possibly restarted from disk with older consumer state): check deliveries against
   * the journal for a while, and ask for work again (pull requests do not survive a restart).
   */
  suspectRepeats(forMs = this.d.ackWaitMs * 2): void {
    this.redelivery.brokerBack(forMs);
    this.intake.reset();
  }

  /** `job.cancel.<job>`: aborts the run if it is here, or marks it so it is cancelled when it arrives. */
  cancel(runId: string, reason: string): boolean {
    for (const slot of this.inflight.values()) {
      if (slot.runId === runId) {
        slot.abort.abort(new RunCancelledError(reason, { runId }));
        return true;
      }
    }
    this.cancellations.remember(runId, reason);
    return false;
  }

  /** Synchronous up to the run's own async frame: an extra frame per run here was measurable. */
  private onMessage(msg: PulledMessage): void {
    const seq = msg.info.streamSequence;
    const same = this.inflight.get(seq);
    if (same) {
      // Redelivered to the replica that is still running it: keep the newest handle for the ack.
      same.msg = msg;
      return;
    }
    let req: JobRun;
    try {
      req = parseRunRequest(msg.data);
    } catch (err) {
      refuseInvalidRequest(msg, err, this.d);
      return;
    }
    const slot = new RunSlot(msg, req, seq, this.d.log);
    this.inflight.set(seq, slot);
    // With tracing on, a run is a span under the requester's trace, so the handler's outgoing calls and the
    // run's events join the incident's trace. Off (the default), no span work on the hot path.
    void (isTracingEnabled() ? this.traced(slot) : this.process(slot)).then(
      () => this.release(seq),
      (err: unknown) => {
        this.d.log.error({ err, runId: req.runId, job: req.job }, 'run not completed; the stream will redeliver it');
        slot.msg.nak(1000);
        this.release(seq);
      },
    );
  }

  /** The run left this replica (acknowledged, or handed back): room for the next request. */
  private release(seq: number): void {
    this.inflight.delete(seq);
    this.intake.refill();
  }

  private traced(slot: RunSlot): Promise<void> {
    return runInSpan(slot, (s) => this.process(s));
  }

  /**
   * One run, start to ack, in one async frame (each extra async hop cost about a microsecond per run). Resolves
   * to the run's outcome when it executed here (for the run's span), undefined when it did not.
   */
  private async process(slot: RunSlot): Promise<RunOutcome | undefined> {
    const { req, seq, msg } = slot;
    if (this.redelivery.suspect(slot) && (await this.redelivery.handled(slot))) return undefined;
    if (req.notBefore) {
      const wait = Date.parse(req.notBefore) - this.d.clock.now();
      if (wait > MAX_IN_MEMORY_DELAY_MS) {
        msg.nak(wait - MAX_IN_MEMORY_DELAY_MS / 2);
        return undefined;
      }
      if (wait > 0) await this.d.clock.sleep(wait, slot.abort.signal).catch(() => undefined);
    }
    const found = this.d.jobs(req.job);
    const def = found instanceof Promise ? await found : found;
    const keyLimit = def && def.concurrency !== 'allow' ? 1 : Number.POSITIVE_INFINITY;
    // A forced run (`--force`, the stuck alert's re-run) does not queue behind the run that holds its job, nor
    // behind the job's other waiting runs: a key of its own.
    const limitKey = req.force ? `${req.job}\0forced:${req.runId}` : req.job;

    // The claim is durable before the run takes a slot: slots bound handlers, not journal round trips.
    this.claiming++;
    try {
      await this.d.journal.claim(seq, req.runId);
    } finally {
      this.claiming--;
    }
    if (!this.limiter.tryAcquire(limitKey, keyLimit)) await this.limiter.acquire(limitKey, keyLimit);
    const { clock } = this.d;
    const startedAt = clock.now();
    slot.startedAt = startedAt;
    const ticket = this.startedNotifier.track(startedAt, slot);
    let result: ExecuteResult;
    try {
      const r = executeSlot(slot, def, this.executeDeps);
      result = r instanceof Promise ? await r : r;
    } finally {
      // The concurrency limit bounds handlers; recording the result runs outside it (pipelined).
      this.limiter.release(limitKey);
    }
    const finishedAt = clock.now();
    const started = this.startedNotifier.finish(ticket);
    this.avgHandlerMs = this.avgHandlerMs * 0.9 + (finishedAt - startedAt) * 0.1;

    const { outcome } = result;
    const event = terminalEventJson(req, outcome, result.attempts, startedAt, finishedAt);
    const { subject } = event;
    const msgId = `${req.runId}.${outcome.status}`;
    const body = event.json;
    if (outcome.status !== 'succeeded') {
      slot
        .log()
        .warn({ status: outcome.status, error: outcome.error, failures: outcome.failures }, `run ${outcome.status}`);
    }
    // Done is recorded before the event is published: a crash in between re-publishes it (same msg id).
    const done: RunSummary = {
      status: outcome.status,
      id: event.id,
      startedAt,
      finishedAt,
      attempts: result.attempts,
    };
    if (!isPlainOutcome(outcome)) done.outcome = outcome;
    try {
      await this.d.journal.complete(seq, req.runId, done);
    } catch (err) {
      await this.persistAfter(err, slot, () => this.d.journal.complete(seq, req.runId, done));
    }
    if (started) await started;
    try {
      await this.out.publish(subject, body, msgId, msg, req.runId);
    } catch (err) {
      await this.persistAfter(err, slot, () => this.out.publish(subject, body, msgId, slot.msg, req.runId));
    }
    slot.msg.ack();
    this.redelivery.remember(seq, { runId: req.runId, at: clock.now(), req, summary: done });
    this.runMetrics?.finished(req.job, req.trigger, outcome.status, startedAt, finishedAt);
    return outcome;
  }

  private persistAfter<T>(err: unknown, slot: RunSlot, fn: () => Promise<T>): Promise<T> {
    return persistAfter(err, slot, fn, { stopping: () => this.stopping, log: this.d.log });
  }
}
