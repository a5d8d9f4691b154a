import { type CloudEvent, formatIsoTime, type JobRun, makeEnvelope } from '@vigil/shared';
import type { RunOutcome } from './run-outcome.js';

export const SERVICE = 'reports';

/** The run data every runner event carries, built from the request's data. */
export function baseRunData(req: JobRun): JobRun {
  const data: JobRun = {
    runId: req.runId,
    job: req.job,
    attempt: req.attempt,
    trigger: req.trigger,
    scheduledAt: req.scheduledAt,
    status: req.status,
  };
  if (req.reason !== undefined) data.reason = req.reason;
  if (req.requestedBy !== undefined) data.requestedBy = req.requestedBy;
  if (req.targets !== undefined) data.targets = req.targets;
  return data;
}

export function startedEvent(req: JobRun, startedAt: number): CloudEvent<JobRun> {
  const data = { ...baseRunData(req), status: 'started' as const, startedAt: new Date(startedAt).toISOString() };
  return makeEnvelope(SERVICE, `job.started.${req.job}`, data);
}

export function terminalEvent(
  req: JobRun,
  outcome: RunOutcome,
  attempt: number,
  startedAt: number,
  finishedAt: number,
  /** Given when rebuilding an event already published (a redelivered run), so it is the same event. */
  id?: string,
): CloudEvent<JobRun> {
  const finished = formatIsoTime(finishedAt);
  const data = baseRunData(req);
  data.attempt = attempt;
  data.status = outcome.status;
  data.startedAt = formatIsoTime(startedAt);
  data.finishedAt = finished;
  data.durationMs = finishedAt - startedAt;
  if (outcome.stats) data.stats = outcome.stats;
  if (outcome.failures) data.failures = outcome.failures;
  if (outcome.error) data.error = outcome.error;
  if (outcome.details) data.details = outcome.details;
  return makeEnvelope(SERVICE, `job.${outcome.status}.${req.job}`, data, { time: finished, id });
}
