import { type CloudEvent, eventTypeFor, formatIsoTime, type JobRun, makeEnvelope, newEventId } from '@vigil/shared';
import { jsonQuote } from './json-quote.js';
import { isPlainOutcome, type RunOutcome } from './run-outcome.js';

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

/** A terminal event ready to publish: its subject, id and JSON. */
export interface TerminalEventJson {
  subject: string;
  id: string;
  json: string;
}

/**
 * `JSON.stringify(terminalEvent(...))`, written straight as a string for the common run (no stats, failures,
 * error or details): the same bytes without building the event's objects first. Other runs take the general path.
 */
export function terminalEventJson(
  req: JobRun,
  outcome: RunOutcome,
  attempt: number,
  startedAt: number,
  finishedAt: number,
): TerminalEventJson {
  const subject = `job.${outcome.status}.${req.job}`;
  if (!isPlainOutcome(outcome) || req.targets !== undefined) {
    const event = terminalEvent(req, outcome, attempt, startedAt, finishedAt);
    return { subject, id: event.id, json: JSON.stringify(event) };
  }
  const id = newEventId();
  const finished = formatIsoTime(finishedAt);
  let extra = '';
  if (req.reason !== undefined) extra += `,"reason":${jsonQuote(req.reason)}`;
  if (req.requestedBy !== undefined) extra += `,"requestedBy":${jsonQuote(req.requestedBy)}`;
  const json =
    `{"specversion":"1.0","id":${jsonQuote(id)},"source":"vigil/${SERVICE}","type":${jsonQuote(eventTypeFor(subject))},` +
    `"time":"${finished}","subject":${jsonQuote(subject)},"datacontenttype":"application/json","data":{` +
    `"runId":${jsonQuote(req.runId)},"job":${jsonQuote(req.job)},"attempt":${attempt},"trigger":${jsonQuote(req.trigger)},` +
    `"scheduledAt":${jsonQuote(req.scheduledAt)},"status":"${outcome.status}"${extra},` +
    `"startedAt":"${formatIsoTime(startedAt)}","finishedAt":"${finished}","durationMs":${finishedAt - startedAt}}}`;
  return { subject, id, json };
}
