import { type CloudEvent, type ConsumerHandle, ErrorCode, type JobRun } from '@vigil/shared';
import type { SchedulerContext } from './context.js';
import { dropFromJob, storedRun } from './concurrency.js';
import { applyRunToJob, emptyJobState, type JobState } from './job-state.js';
import { updateJson } from './kv-json.js';
import { publishVerdict } from './publisher.js';
import { applyRunEvent, hasFolded, isActive, type RunRecord } from './run-record.js';

const NOT_RUN_EVENTS = new Set(['trigger', 'cancel']);

/**
 * Folds every `job.*` run event into `vigil_runs` (one record per run) and `vigil_jobs` (per-job state).
 * One shared durable: replicas split the events; compare-and-set keeps concurrent folds correct.
 */
export async function startHistory(ctx: SchedulerContext): Promise<ConsumerHandle> {
  return ctx.bus.consume<JobRun>({
    subject: 'job.>',
    durable: 'scheduler-history',
    concurrency: 16,
    prefetch: 256,
    handler: async (event, msg) => {
      // the NATS subject (`job.<verb>.<job>`), not the CloudEvent's `subject` field, which a publisher may set freely
      const verb = msg.subject.split('.')[1] ?? '';
      if (NOT_RUN_EVENTS.has(verb)) return;
      await foldRunEvent(ctx, verb, event);
    },
  });
}

/**
 * Waits (at most `timeoutMs`, real time) until the history consumer has folded every `job.*` event the stream
 * held when called, and the live copies show the result: a run that finished while no scheduler ran must not
 * look still running to catch-up. Returns false on timeout (catch-up then goes on with what it knows).
 */
export async function historyCaughtUp(ctx: SchedulerContext, consumer: ConsumerHandle, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  const jsm = await ctx.bus.js.jetstreamManager();
  const target = (await jsm.streams.info(consumer.stream)).state.last_seq;
  for (;;) {
    const info = await jsm.consumers.info(consumer.stream, consumer.durable);
    // everything up to the target acked (other replicas may be busy with newer events), or nothing left at all
    const done =
      info.ack_floor.stream_seq >= target ||
      (info.num_pending === 0 && info.num_ack_pending === 0 && consumer.inFlight === 0);
    if (done) break;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  const left = Math.max(0, until - Date.now());
  const [runs, jobs] = await Promise.all([ctx.runs.caughtUp(left), ctx.jobStates.caughtUp(left)]);
  return runs && jobs;
}

/**
 * A run cancelled on purpose (concurrency `replace`, job.cancel) arrives as job.failed with error code
 * VIGIL_E_RUN_CANCELLED; it is recorded as `cancelled`: not a failure of the job, so neither health nor a
 * "recovered" notice treats it as one.
 */
function statusOf(verb: string, data: JobRun): string {
  return verb === 'failed' && data.error?.code === ErrorCode.RUN_CANCELLED ? 'cancelled' : verb;
}

export async function foldRunEvent(ctx: SchedulerContext, eventVerb: string, event: CloudEvent<JobRun>): Promise<void> {
  const data = event.data;
  const verb = statusOf(eventVerb, data);
  // an event folded already (redelivered, or handled by another replica too) writes nothing to the record; the job
  // state below is folded again, which changes nothing when the first fold got that far and finishes it when not
  const record = await updateJson<RunRecord>(ctx.kv.runs, data.runId, (prev) =>
    hasFolded(prev, event.id) ? undefined : applyRunEvent(prev, verb, data, event.time, event.id),
  );
  if (verb === 'recovered') return;
  if (verb === 'requested' || verb === 'started') {
    // the job only tracks its current run for forbid/replace; `allow` jobs skip a contended write per run
    if (ctx.job(data.job)?.concurrency === 'allow') return;
    await foldActive(ctx, data, verb, event.time, record);
    return;
  }
  if (record && record.status !== verb) {
    // a verdict or outcome the record did not take (a late `job.missed` after the run's success, redelivered
    // after a broker restart): it is no news on the job's health; only make sure the run no longer counts as active
    await dropFromJob(ctx, data.job, data.runId);
    return;
  }
  let recovered = false;
  let previous: string | undefined;
  await updateJson<JobState>(ctx.kv.jobs, data.job, (prev) => {
    const s = prev ?? emptyJobState();
    const change = applyRunToJob(s, data.runId, verb, event.time);
    recovered = change.recovered;
    previous = change.recoveredFrom;
    return change.state;
  });
  if (recovered) {
    await publishVerdict(
      ctx,
      'recovered',
      { ...data, scheduledAt: data.scheduledAt },
      `first success after a ${previous ?? 'bad'} run`,
    );
  }
}

/**
 * A `job.requested`/`job.started` for the job state: the run joins the job's active runs only while its record is
 * still requested or started. Such an event can come after the run's end (redelivered after a broker restart, or
 * folded by another replica after the terminal event): a finished run put back into `activeRunIds` would occupy
 * a `forbid` job for good (its slots skipped "run X is still running"). The record is read again after the job
 * state is written: an end folded by another replica between the two writes is seen then, and the run taken out.
 */
async function foldActive(
  ctx: SchedulerContext,
  data: JobRun,
  verb: string,
  at: string,
  record: RunRecord | undefined,
): Promise<void> {
  if (record && !isActive(record)) {
    await dropFromJob(ctx, data.job, data.runId);
    return;
  }
  await updateJson<JobState>(
    ctx.kv.jobs,
    data.job,
    (prev) => applyRunToJob(prev ?? emptyJobState(), data.runId, verb, at).state,
  );
  const now = await storedRun(ctx, data.runId);
  if (now && !isActive(now)) await dropFromJob(ctx, data.job, data.runId);
}
