import {
  type Clock,
  deadLetter,
  ensureDurable,
  envelopeProblem,
  ErrorCode,
  extractTraceContext,
  Header,
  injectTraceHeaders,
  isTracingEnabled,
  type JetStreamPublisher,
  PullConsumer,
  type PulledMessage,
  type JobDefinition,
  type JobRun,
  JobRunSchema,
  type Logger,
  publishDurable,
  retry,
  SpanKind,
  ValidationError,
  type VigilMetrics,
  withSpan,
} from '@vigil/shared';
import {
  headers as natsHeaders,
  type JetStreamClient,
  type JetStreamManager,
  type MsgHdrs,
  type NatsConnection,
} from 'nats';
import type { HandlerSecrets, JobHandler } from '../handler-api.js';
import { RunCancelledError } from './cancelled-error.js';
import { type ExecuteResult, executeRun } from './execute-run.js';
import { Limiter } from './limiter.js';
import { RunAbort } from './run-abort.js';
import { RecentRuns } from './recent-runs.js';
import { RunMetrics } from './run-metrics.js';
import type { RunJournal } from './run-journal.js';
import { failedOutcome } from './run-outcome.js';
import { startedEvent, terminalEvent } from './run-event.js';
import { StartedNotifier } from './started-notifier.js';

export const RUNNER_STREAM = 'VIGIL_JOBS';
export const RUNNER_DURABLE = 'runner';
export const RUNNER_SUBJECT = 'job.requested.>';

export interface WorkLoopDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  /** Terminal and started events go through the connection's lean publisher (one PubAck subscription). */
  publisher: JetStreamPublisher;
  jsm: JetStreamManager;
  log: Logger;
  clock: Clock;
  journal: RunJournal;
  metrics?: VigilMetrics;
  secrets: HandlerSecrets;
  /** The job's current definition (the jobs file, reloaded on change), or undefined; a promise only when unknown. */
  jobs: (name: string) => JobDefinition | undefined | Promise<JobDefinition | undefined>;
  baseDir: string;
  resolveHandler: (def: JobDefinition) => Promise<JobHandler>;
  concurrency: number;
  ackWaitMs: number;
  /** A run older than this gets a `job.started` event (short runs publish only their terminal event). */
  startedAfterMs: number;
}

interface Executed {
  outcome: ExecuteResult['outcome'];
  attempts: number;
  startedAt: number;
  finishedAt: number;
  /** The job.started publish, when the run outlived the threshold. */
  started?: Promise<unknown>;
  log: () => Logger;
}

interface Inflight {
  msg: PulledMessage;
  runId: string;
  job: string;
  abort: RunAbort;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Longer waits than this for `notBefore` go back to the stream (nak with delay) instead of memory. */
const MAX_IN_MEMORY_DELAY_MS = 60_000;
/** Deliveries during which a run claimed by a live replica is left to it before being taken over. */
const MAX_DEFERRALS = 5;
/**
 * How many finished runs a replica remembers, per generation (two generations). Small on purpose: records kept
 * longer than a few young-generation collections get promoted, and promoting every run's event was a large GC
 * cost; the journal answers for older runs.
 */
const RECENT_DONE = 1_000;
/**
 * nats-server acknowledges a write before it reaches the disk, so a kill -9 can drop what it acknowledged
 * shortly before (terminal events, journal pages, consumer acks). Runs finished this long before an outage
 * are recorded again after it.
 */
const RESTORE_BEFORE_OUTAGE_MS = 5_000;
/** At most this many runs are written again, in chunks (a journal page must stay well under 1 MB). */
const RESTORE_MAX_RUNS = 2_000;
const RESTORE_CHUNK = 100;
/** How long the first publish of a terminal event waits for its PubAck before the retrying path takes over. */
const PUBLISH_ATTEMPT_MS = 2_000;
/** Re-published terminal events must still be inside JetStream's duplicate window (2 min) to be dropped as copies. */
const RESTORE_MAX_AGE_MS = 90_000;

/**
 * The runner's consume loop: one shared durable pull consumer (N replicas split the work), a global and
 * per-job concurrency limit, heartbeats for queued and long runs, group-committed idempotency records,
 * one durable publish per short run.
 */
export class WorkLoop {
  private readonly limiter: Limiter;
  private readonly inflight = new Map<number, Inflight>();
  private readonly cancelled = new Map<string, { reason: string; until: number }>();
  private puller?: PullConsumer;
  private rebinding = false;
  private healthy = false;
  private suspectUntil = 0;
  /** Moving average of handler durations; starts pessimistic (long) until runs show otherwise. */
  private avgHandlerMs = 1000;
  private readonly recentDone = new RecentRuns(RECENT_DONE);
  private disconnectedAt?: number;
  private heartbeat?: ReturnType<typeof setInterval>;
  private stopping = false;
  /** Runs waiting for their claim to be durable before they take a slot. */
  private claiming = 0;
  /** Received but not yet acknowledged: running, waiting for a slot, or recording their result. */
  private readonly maxInflight: number;
  private readonly startedNotifier: StartedNotifier;
  private readonly runMetrics?: RunMetrics;
  private readonly handlers = new WeakMap<JobDefinition, { handler: JobHandler; at: number }>();

  constructor(private readonly d: WorkLoopDeps) {
    this.limiter = new Limiter(d.concurrency);
    this.maxInflight = Math.max(500, d.concurrency * 10);
    this.startedNotifier = new StartedNotifier(d.clock, d.startedAfterMs);
    this.runMetrics = d.metrics ? new RunMetrics(d.metrics) : undefined;
  }

  get running(): number {
    return this.limiter.running;
  }

  async start(): Promise<void> {
    await this.bind();
    this.puller = new PullConsumer(this.d.nc, {
      stream: RUNNER_STREAM,
      durable: RUNNER_DURABLE,
      onMessage: (msg) => void this.onMessage(msg),
      onDrained: () => this.refill(),
      onLost: (why) => void this.rebind(why),
    });
    this.healthy = true;
    this.heartbeat = setInterval(
      () => {
        this.refill();
        for (const f of this.inflight.values()) f.msg.working();
        this.d.journal.markAlive().catch((err: unknown) => this.d.log.warn({ err }, 'liveness record not written'));
        const now = Date.now();
        for (const [id, c] of this.cancelled) if (c.until < now) this.cancelled.delete(id);
      },
      Math.max(100, Math.floor(this.d.ackWaitMs / 3)),
    );
    this.heartbeat.unref();
    await this.d.journal.markAlive();
    this.refill();
  }

  /** False while the consumer is being re-created (a readiness check reports it). */
  get consuming(): boolean {
    return this.healthy && !this.stopping;
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
    if (this.rebinding || this.stopping) return;
    this.rebinding = true;
    this.healthy = false;
    this.d.log.warn({ why }, 'runner consumer lost; re-creating it');
    while (!this.stopping) {
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

  /**
   * Asks for only as many requests as there is room for; each is handed to onMessage on arrival (where it is
   * heartbeated). Nothing waits unseen in a client buffer: a request buffered past the ack wait would be
   * redelivered to another replica while this one still holds it as a first delivery.
   */
  private refill(): void {
    const puller = this.puller;
    if (this.stopping || this.rebinding || !puller) return;
    // Long runs fill the slot queue: stop pulling then, so idle replicas get the work instead of this one
    // hoarding it. Short runs keep the queue empty and the pull window wide (bookkeeping is pipelined).
    const free = this.d.concurrency - this.limiter.running - this.limiter.queued;
    if (free <= 0) return;
    const outstanding = puller.outstanding;
    const room = this.maxInflight - this.inflight.size - outstanding;
    if (this.avgHandlerMs < 50) {
      const minBatch = Math.max(1, Math.min(50, Math.floor(this.maxInflight / 4)));
      if (room >= minBatch || (outstanding === 0 && room > 0)) puller.pull(Math.min(room, 500));
    } else {
      // Long runs: at most twice the free slots, so a replica never grabs far more than it can start (runs whose
      // claim is being written are about to take a slot: they count as taken).
      const want = Math.min(room, 2 * (free - this.claiming) - outstanding);
      if (want > 0) puller.pull(want);
    }
  }

  /**
   * The broker reconnected (possibly restarted from disk): for a while, treat every delivery as a
   * possible repeat and consult the journal before running it.
   */
  suspectRepeats(forMs = this.d.ackWaitMs * 2): void {
    this.suspectUntil = Math.max(this.suspectUntil, this.d.clock.now() + forMs);
    this.d.log.warn({ forMs }, 'broker reconnected: checking every delivery against the journal for a while');
    const since = (this.disconnectedAt ?? this.d.clock.now()) - RESTORE_BEFORE_OUTAGE_MS;
    this.disconnectedAt = undefined;
    // Pull requests do not survive a broker restart: ask again.
    this.puller?.reset();
    this.refill();
    void this.restoreRecent(since);
  }

  /** The connection to the broker was lost (it may be restarting and dropping its last writes). */
  brokerLost(): void {
    this.disconnectedAt ??= this.d.clock.now();
  }

  /**
   * Writes again what the broker may have lost of the runs finished just before it went away: their done
   * records (so a replica that gets such a run redelivered finds it finished) and their terminal events
   * (same Nats-Msg-Id: JetStream drops the ones it kept, restores the ones it lost).
   */
  private async restoreRecent(since: number): Promise<void> {
    const now = this.d.clock.now();
    const runs = this.recentDone.since(Math.max(since, now - RESTORE_MAX_AGE_MS + 1), RESTORE_MAX_RUNS);
    if (runs.length === 0) return;
    let restored = 0;
    try {
      for (let i = 0; i < runs.length && !this.stopping; i += RESTORE_CHUNK) {
        const chunk = runs.slice(i, i + RESTORE_CHUNK);
        await retry(
          () =>
            Promise.all(
              chunk.map(([seq, r]) =>
                this.d.journal.complete(seq, r.runId, { subject: r.subject, msgId: r.msgId, event: r.event }),
              ),
            ),
          { max: 5, base: 200, cap: 2_000, shouldRetry: () => !this.stopping },
        );
        await Promise.all(
          chunk.map(async ([, r]) => {
            const ack = await publishDurable(this.d.publisher, r.subject, encoder.encode(r.event), { msgID: r.msgId });
            if (!ack.duplicate) restored++;
          }),
        );
      }
      this.d.log.info(
        { runs: runs.length, restored },
        'records of runs finished before the broker outage written again',
      );
    } catch (err) {
      this.d.log.warn(
        { err, runs: runs.length, restored },
        'records of runs finished before the broker outage not (all) written again',
      );
    }
  }

  /** `job.cancel.<job>`: aborts the run if it is here, or marks it so it is cancelled when it arrives. */
  cancel(runId: string, reason: string): boolean {
    for (const f of this.inflight.values()) {
      if (f.runId === runId) {
        f.abort.abort(new RunCancelledError(reason, { runId }));
        return true;
      }
    }
    this.cancelled.set(runId, { reason, until: Date.now() + 10 * 60_000 });
    return false;
  }

  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    this.puller?.stop();
    const deadline = Date.now() + timeoutMs;
    while (this.inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.startedNotifier.stop();
  }

  private release(seq: number): void {
    this.inflight.delete(seq);
    this.refill();
  }

  private async deadLetter(msg: PulledMessage, err: unknown): Promise<void> {
    this.d.log.error({ err, subject: msg.subject, seq: msg.info.streamSequence }, 'invalid run request: dead-lettered');
    await deadLetter(this.d.publisher, msg, err, msg.info.deliveryCount, {
      metrics: this.d.metrics,
      consumer: RUNNER_DURABLE,
    });
    msg.term();
  }

  private parse(msg: PulledMessage): JobRun {
    let env: unknown;
    try {
      env = JSON.parse(decoder.decode(msg.data));
    } catch {
      throw new ValidationError('payload is not JSON', { code: ErrorCode.INVALID_EVENT });
    }
    const problem = envelopeProblem(env);
    if (problem) throw new ValidationError(`invalid CloudEvent: ${problem}`, { code: ErrorCode.INVALID_EVENT });
    const r = JobRunSchema.safeParse((env as { data: unknown }).data);
    if (!r.success) {
      const issues = r.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; ');
      throw new ValidationError(`invalid job.requested data: ${issues}`, { code: ErrorCode.INVALID_EVENT });
    }
    return r.data;
  }

  private async onMessage(msg: PulledMessage): Promise<void> {
    const seq = msg.info.streamSequence;
    const same = this.inflight.get(seq);
    if (same) {
      // Redelivered to the replica that is still running it: keep the newest handle for the ack.
      same.msg = msg;
      return;
    }
    let req: JobRun;
    try {
      req = this.parse(msg);
    } catch (err) {
      await this.deadLetter(msg, err).catch((e: unknown) => {
        this.d.log.error({ err: e }, 'dead-letter failed; will retry');
        msg.nak(1000);
      });
      return;
    }
    const slot: Inflight = { msg, runId: req.runId, job: req.job, abort: new RunAbort() };
    this.inflight.set(seq, slot);
    try {
      await this.traced(msg, req, () => this.process(slot, seq, req));
    } catch (err) {
      this.d.log.error({ err, runId: req.runId, job: req.job }, 'run not completed; the stream will redeliver it');
      slot.msg.nak(1000);
    } finally {
      this.release(seq);
    }
  }

  /**
   * With tracing on, a run is a span under the requester's trace, so the handler's outgoing calls and the run's
   * events join the incident's trace. Off (the default), no span work on the hot path.
   */
  private traced(msg: PulledMessage, req: JobRun, fn: () => Promise<void>): Promise<void> {
    if (!isTracingEnabled()) return fn();
    return withSpan(`run ${req.job}`, fn, {
      parent: extractTraceContext(msg.headers),
      kind: SpanKind.CONSUMER,
      attributes: { 'vigil.run_id': req.runId, 'vigil.job': req.job, 'vigil.trigger': req.trigger },
    });
  }

  private async process(slot: Inflight, seq: number, req: JobRun): Promise<void> {
    const { msg } = slot;
    // After the broker restarted, its consumer state may be older than its streams: runs already finished
    // come back as first deliveries. So every delivery in that window is checked like a redelivery.
    const suspect = msg.info.redelivered || this.recentDone.has(seq) || this.d.clock.now() < this.suspectUntil;
    if (suspect && (await this.finishedBefore(slot, seq))) return;
    if (req.notBefore) {
      const wait = Date.parse(req.notBefore) - this.d.clock.now();
      if (wait > MAX_IN_MEMORY_DELAY_MS) {
        msg.nak(wait - MAX_IN_MEMORY_DELAY_MS / 2);
        return;
      }
      if (wait > 0) await this.d.clock.sleep(wait, slot.abort.signal).catch(() => undefined);
    }
    const found = this.d.jobs(req.job);
    const def = found instanceof Promise ? await found : found;
    const keyLimit = def && def.concurrency !== 'allow' ? 1 : Number.POSITIVE_INFINITY;
    // The claim is durable before the run takes a slot: slots bound handlers, not journal round trips (short runs
    // would otherwise spend most of their slot time waiting for the group commit).
    this.claiming++;
    try {
      await this.d.journal.claim(seq, req.runId);
    } finally {
      this.claiming--;
    }
    if (!this.limiter.tryAcquire(req.job, keyLimit)) await this.limiter.acquire(req.job, keyLimit);
    let executed: Executed;
    try {
      executed = await this.execute(slot, req, def);
    } finally {
      // The concurrency limit bounds handlers; recording the result runs outside it (pipelined).
      this.limiter.release(req.job);
    }
    await this.finish(slot, seq, req, executed);
  }

  /** A redelivered request: if the journal says it finished, re-publish its terminal event and ack. */
  private async finishedBefore(slot: Inflight, seq: number): Promise<boolean> {
    const mine = this.recentDone.get(seq);
    const found = mine ? { claims: [], done: mine } : await this.d.journal.lookup(seq);
    if (found.done) {
      await publishDurable(this.d.publisher, found.done.subject, encoder.encode(found.done.event), {
        msgID: found.done.msgId,
      });
      slot.msg.ack();
      this.d.log.info(
        {
          runId: found.done.runId,
          seq,
          // A first delivery here means the broker lost the ack (kill -9 before its consumer state was written).
          deliveryCount: slot.msg.info.deliveryCount,
          from: mine ? 'memory' : 'journal',
        },
        'redelivered run had finished: terminal event re-published, not executed',
      );
      return true;
    }
    const foreign = found.claims.filter((c) => c.instance !== this.d.journal.instance).sort((a, b) => b.at - a.at);
    if (foreign.length > 0 && slot.msg.info.deliveryCount <= MAX_DEFERRALS) {
      // Redelivered although its owner is alive (a stalled event loop missed heartbeats): let the owner
      // finish instead of running it twice. Bounded: an owner that lost the run is taken over eventually.
      const alive = await this.d.journal.aliveAt(foreign[0].instance);
      if (alive !== undefined && this.d.clock.now() - alive < (this.d.ackWaitMs * 2) / 3) {
        this.d.log.warn(
          { runId: slot.runId, seq, owner: foreign[0].instance },
          'redelivered run is still owned by a live replica; deferring',
        );
        slot.msg.nak(this.d.ackWaitMs);
        return true;
      }
    }
    if (found.claims.length > 0) {
      this.d.log.warn(
        { runId: slot.runId, seq, claims: found.claims },
        'taking over a run whose replica stopped before finishing',
      );
    }
    return false;
  }

  /** The job's handler, resolved at most once a second per definition (a module handler may be edited). */
  private handlerFor(def: JobDefinition): JobHandler | Promise<JobHandler> {
    const now = Date.now();
    const cached = this.handlers.get(def);
    if (cached && now - cached.at < 1000) return cached.handler;
    return this.d.resolveHandler(def).then((handler) => {
      this.handlers.set(def, { handler, at: now });
      return handler;
    });
  }

  private async execute(slot: Inflight, req: JobRun, def: JobDefinition | undefined): Promise<Executed> {
    const { clock, log: baseLog } = this.d;
    const startedAt = clock.now();
    // A child logger per run is created only when something logs (short, quiet runs never do).
    let runLog: Logger | undefined;
    const log = () => {
      runLog ??= baseLog.child({ runId: req.runId, job: req.job });
      return runLog;
    };
    const { abort } = slot;
    const pre = this.cancelled.get(req.runId);
    if (pre) abort.abort(new RunCancelledError(pre.reason, { runId: req.runId }));

    const ticket = this.startedNotifier.track(startedAt, () =>
      this.publish(startedEvent(req, startedAt), `${req.runId}.started`, slot.msg.headers).catch((err: unknown) =>
        log().warn({ err }, 'job.started not published'),
      ),
    );

    let result: Awaited<ReturnType<typeof executeRun>>;
    if (!def) {
      const err = new ValidationError(`job ${req.job} is not in the jobs file`, { code: ErrorCode.JOB_NOT_FOUND });
      result = { outcome: failedOutcome(err, req.targets ?? []), attempts: 1, targets: req.targets ?? [] };
    } else if (abort.aborted) {
      result = { outcome: failedOutcome(abort.reason, req.targets ?? []), attempts: 1, targets: req.targets ?? [] };
    } else {
      let handler: JobHandler | undefined;
      try {
        handler = await this.handlerFor(def);
      } catch (err) {
        result = { outcome: failedOutcome(err, req.targets ?? []), attempts: 1, targets: req.targets ?? [] };
      }
      if (handler) {
        result = await executeRun({
          runId: req.runId,
          def,
          handler,
          requestedTargets: req.targets,
          baseDir: this.d.baseDir,
          log,
          secrets: this.d.secrets,
          abort,
          clock,
          progress: (note) => {
            slot.msg.working();
            log().info({ progress: note }, 'progress');
          },
        });
      }
    }
    const started = this.startedNotifier.finish(ticket);
    this.avgHandlerMs = this.avgHandlerMs * 0.9 + (clock.now() - startedAt) * 0.1;
    return { ...result!, startedAt, finishedAt: clock.now(), started, log };
  }

  private async finish(slot: Inflight, seq: number, req: JobRun, executed: Executed): Promise<void> {
    const { outcome, attempts, startedAt, finishedAt, started, log } = executed;
    const event = terminalEvent(req, outcome, attempts, startedAt, finishedAt);
    const msgId = `${req.runId}.${outcome.status}`;
    const body = JSON.stringify(event);
    if (outcome.status !== 'succeeded')
      log().warn({ status: outcome.status, error: outcome.error, failures: outcome.failures }, `run ${outcome.status}`);

    const subject = event.subject;
    // Done is recorded before the event is published: a crash in between re-publishes it (same msg id).
    const done = { subject, msgId, event: body };
    try {
      await this.d.journal.complete(seq, req.runId, done);
    } catch (err) {
      await this.persistAfter(err, () => this.d.journal.complete(seq, req.runId, done), slot);
    }
    if (started) await started;
    // First attempt straight to the publisher (the per-run path); failures retry through publishDurable.
    const bytes = encoder.encode(body);
    const headers = this.headersFor(slot.msg.headers, req.runId);
    try {
      await this.d.publisher.publish(subject, bytes, { msgID: msgId, headers, timeoutMs: PUBLISH_ATTEMPT_MS });
    } catch (err) {
      await this.persistAfter(
        err,
        () => publishDurable(this.d.publisher, subject, bytes, { msgID: msgId, headers }),
        slot,
      );
    }
    this.runMetrics?.published(subject);
    slot.msg.ack();
    this.recentDone.add(seq, { runId: req.runId, subject, msgId, event: body, at: this.d.clock.now() });

    this.runMetrics?.finished(req.job, req.trigger, outcome.status, startedAt, finishedAt);
  }

  /**
   * Infrastructure writes after a run are retried in place (heartbeating) rather than re-running the handler,
   * for as long as the broker is away: giving up would nak a run whose handler already ran, and its
   * redelivery (claimed by this replica, no done record) would execute it a second time. Only a stopping
   * replica gives up (a known limit: the run is executed again elsewhere).
   */
  private async persistAfter<T>(err: unknown, fn: () => Promise<T>, slot: Inflight): Promise<T> {
    if (this.stopping) throw err;
    this.d.log.warn({ err, runId: slot.runId }, 'recording run result failed; retrying');
    return retry(fn, {
      max: Number.POSITIVE_INFINITY,
      base: 200,
      cap: 5_000,
      shouldRetry: () => !this.stopping,
      onRetry: (err, attempt) => {
        slot.msg.working();
        this.d.log.warn({ err, attempt, runId: slot.runId }, 'recording run result failed; retrying');
      },
    });
  }

  private headersFor(source: MsgHdrs | undefined, correlation: string): MsgHdrs | Record<string, string> {
    if (!isTracingEnabled()) {
      // Plain pairs: the publisher encodes them straight to bytes (the per-run path).
      const pairs: Record<string, string> = {
        [Header.CORRELATION_ID]: source?.get(Header.CORRELATION_ID) || correlation,
      };
      const tp = source?.get(Header.TRACEPARENT);
      if (tp) pairs[Header.TRACEPARENT] = tp;
      return pairs;
    }
    const h = natsHeaders();
    h.set(Header.CORRELATION_ID, source?.get(Header.CORRELATION_ID) || correlation);
    injectTraceHeaders(h);
    const tp = source?.get(Header.TRACEPARENT);
    if (tp && !h.has(Header.TRACEPARENT)) h.set(Header.TRACEPARENT, tp);
    // Nats-Msg-Id is set by publish (msgID option).
    return h;
  }

  private publish(
    event: { subject: string; id: string },
    msgId: string,
    source: MsgHdrs | undefined,
  ): Promise<unknown> {
    return this.publishBody(event.subject, JSON.stringify(event), msgId, source);
  }

  private async publishBody(subject: string, body: string, msgId: string, source: MsgHdrs | undefined): Promise<void> {
    const runId = msgId.slice(0, msgId.lastIndexOf('.'));
    await publishDurable(this.d.publisher, subject, encoder.encode(body), {
      msgID: msgId,
      headers: this.headersFor(source, runId),
    });
    this.runMetrics?.published(subject);
  }
}
