import type { Clock, Logger, PermanentError, SecretGetOptions, TransientError, ValidationError } from '@vigil/shared';

/** What a handler may read of the secrets service; values are registered for log redaction. */
export interface HandlerSecrets {
  /** `{ redact: false }`: a value that is not secret material (a list of target names) is not redacted from logs. */
  get(name: string, opts?: SecretGetOptions): Promise<string>;
  /** Replaces `${secret:NAME}` / `${secret:NAME.field}` in a string. */
  resolve(text: string): Promise<string>;
}

/** Everything a handler gets. Handlers never see NATS. */
export interface HandlerContext<O = Record<string, unknown>> {
  runId: string;
  /**
   * The incident's correlation id (the request's `Vigil-Correlation-Id`, else the runId). Pass it on to what the
   * run calls (a header, a log field), so one incident's messages and logs share it.
   */
  correlationId: string;
  job: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number;
  /** The targets this run covers (empty when the job has none). */
  targets: string[];
  /** The handler's options (the jobs-file block named like the handler), `${secret:…}` already resolved. */
  options: O;
  /** Directory of the jobs file: relative paths in options resolve from here. */
  baseDir: string;
  log: Logger;
  secrets: HandlerSecrets;
  /** Aborted on cancellation (`job.cancel.<job>`), timeout or shutdown. Pass it to fetch/spawn. */
  signal: AbortSignal;
  /** Keeps the run alive (heartbeat) and records a progress note. */
  progress(note: string): void;
  clock: Clock;
  /** The run's scheduled time as requested (ISO 8601; a backup or manual run: when it was requested). */
  scheduledAt: string;
  /** The job's IANA time zone (`timezone:` of the job or the jobs file, default UTC): days are counted in it. */
  timezone: string;
  /**
   * Vigil's error classes, so a module in a jobs folder (which cannot import Vigil's packages) throws typed errors:
   * `throw new ctx.errors.TransientError('upstream busy')` is retried per the job's `retries`; `PermanentError` and
   * `ValidationError` are not. An error with an HTTP `status` (or a Node network code) is classified by it too.
   */
  errors: HandlerErrors;
}

/** The error classes a handler throws to say what a failure is (see `HandlerContext.errors`). */
export interface HandlerErrors {
  TransientError: typeof TransientError;
  PermanentError: typeof PermanentError;
  ValidationError: typeof ValidationError;
}

export interface TargetOutcome {
  /** Non-empty. */
  target: string;
  ok: boolean;
  error?: unknown;
  details?: Record<string, unknown>;
}

/**
 * What `run` may resolve to (or nothing: succeeded). Checked once per run: any other field, an unknown status,
 * a target without a name or a boolean `ok`, or `details` that are not a JSON object fail the run with class
 * `validation` (VIGIL_E_HANDLER_RESULT_INVALID). Stats, failures and the run's error are computed by the runner.
 */
export interface HandlerResult {
  /** Usually derived from `targets`: all ok -> succeeded, some -> partial, none -> failed. */
  status?: 'succeeded' | 'partial' | 'failed';
  targets?: TargetOutcome[];
  details?: Record<string, unknown>;
}

export interface JobHandler<O = Record<string, unknown>> {
  /**
   * Checks options and targets before any side effect: return a message or throw (any error thrown here fails the
   * run at once with class `validation`, without retries).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a validate() that returns nothing is the common case
  validate?(ctx: HandlerContext<O>): void | string | undefined | Promise<void | string | undefined>;
  // biome-ignore lint/suspicious/noConfusingVoidType: `async run() {}` is a valid handler
  run(ctx: HandlerContext<O>): Promise<HandlerResult | undefined | void>;
}

/**
 * THE way to add your own job: a module whose default export is `defineHandler({ validate?, run })`,
 * referenced in jobs.yaml as `handler: module:./path/to/file.mjs` (relative to the jobs file).
 */
export function defineHandler<O = Record<string, unknown>>(handler: JobHandler<O>): JobHandler<O> {
  return handler;
}
