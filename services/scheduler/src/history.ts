import type { CloudEvent, ConsumerHandle, JobRun } from '@vigil/shared';
import type { SchedulerContext } from './context.js';
import { applyRunToJob, emptyJobState, type JobState } from './job-state.js';
import { updateJson } from './kv-json.js';
import { publishVerdict } from './publisher.js';
import { applyRunEvent, type RunRecord } from './run-record.js';

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

export async function foldRunEvent(ctx: SchedulerContext, verb: string, event: CloudEvent<JobRun>): Promise<void> {
  const data = event.data;
  await updateJson<RunRecord>(ctx.kv.runs, data.runId, (prev) => applyRunEvent(prev, verb, data, event.time));
  if (verb === 'recovered') return;
  // the job only tracks its current run for forbid/replace; `allow` jobs skip a contended write per run
  if ((verb === 'requested' || verb === 'started') && ctx.job(data.job)?.concurrency === 'allow') return;
  let recovered = false;
  let previous: string | undefined;
  await updateJson<JobState>(ctx.kv.jobs, data.job, (prev) => {
    const s = prev ?? emptyJobState();
    const change = applyRunToJob(s, data.runId, verb, event.time);
    recovered = change.recovered;
    previous = s.lastStatus;
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
