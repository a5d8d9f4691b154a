import {
  type Clock,
  ErrorCode,
  isRetryable,
  type JobDefinition,
  type Logger,
  retry,
  ValidationError,
} from '@vigil/shared';
import type { HandlerContext, HandlerSecrets, JobHandler } from '../handler-api.js';
import { resolveSecretRefs, hasSecretRefs } from './resolve-options.js';
import type { RunAbort } from './run-abort.js';
import { failedOutcome, outcomeOf, type RunOutcome } from './run-outcome.js';
import { resolveTargets } from './targets.js';

export interface ExecuteInput {
  runId: string;
  def: JobDefinition;
  handler: JobHandler;
  requestedTargets?: string[];
  baseDir: string;
  secrets: HandlerSecrets;
  clock: Clock;
  /** The run's logger (created on first use), progress notes and cancellation. */
  hooks: RunHooks;
}

export interface RunHooks {
  log(): Logger;
  progress(note: string): void;
  readonly abort: RunAbort;
}

const secretRefsByDef = new WeakMap<JobDefinition, boolean>();

/** Whether a job's options reference secrets, decided once per definition (not per run). */
function needsSecrets(def: JobDefinition): boolean {
  let v = secretRefsByDef.get(def);
  if (v === undefined) {
    v = hasSecretRefs(def.options);
    secretRefsByDef.set(def, v);
  }
  return v;
}

/**
 * A handler's context. A class rather than an object literal with getters: literals with accessors are built
 * slowly, and one is built for every attempt of every run.
 */
class RunContext implements HandlerContext {
  readonly runId: string;
  readonly job: string;
  readonly baseDir: string;
  readonly secrets: HandlerSecrets;
  readonly clock: Clock;

  constructor(
    private readonly input: ExecuteInput,
    readonly attempt: number,
    readonly targets: string[],
    readonly options: Record<string, unknown>,
  ) {
    this.runId = input.runId;
    this.job = input.def.name;
    this.baseDir = input.baseDir;
    this.secrets = input.secrets;
    this.clock = input.clock;
  }

  get log(): Logger {
    return this.input.hooks.log();
  }

  get signal(): AbortSignal {
    return this.input.hooks.abort.signal;
  }

  /** A function, so `const { progress } = ctx` works too (made when first asked for). */
  get progress(): (note: string) => void {
    const { hooks } = this.input;
    return (note) => hooks.progress(note);
  }
}

export interface ExecuteResult {
  outcome: RunOutcome;
  /** Handler calls made (1 = no retry). */
  attempts: number;
  targets: string[];
}

/**
 * Validates, then runs the handler with the job's retry policy (full-jitter backoff). Validation problems
 * fail at once with class `validation`, before any side effect; only retryable errors are retried.
 */
export async function executeRun(input: ExecuteInput): Promise<ExecuteResult> {
  const { def, handler, clock } = input;
  const { abort } = input.hooks;
  let attempts = 0;
  let targets: string[] = [];
  try {
    // Fast path without awaits for the common case of a job with a plain target list (or none).
    targets =
      def.targets === undefined && !input.requestedTargets
        ? []
        : await resolveTargets(def, input.requestedTargets, input.secrets);
    const options = (needsSecrets(def) ? await resolveSecretRefs(def.options, input.secrets) : def.options) as Record<
      string,
      unknown
    >;
    const ctxFor = (attempt: number): HandlerContext => new RunContext(input, attempt, targets, options);
    if (handler.validate) {
      const problem = await handler.validate(ctxFor(1));
      if (typeof problem === 'string' && problem) {
        throw new ValidationError(problem, { code: ErrorCode.VALIDATION, details: { job: def.name } });
      }
    }
    const fixed = def.retries.backoff === 'fixed';
    if (def.retries.max === 0) attempts = 1;
    const result =
      def.retries.max === 0
        ? await handler.run(ctxFor(1))
        : await retry(
            async (attempt) => {
              attempts = attempt;
              return handler.run(ctxFor(attempt));
            },
            {
              max: def.retries.max,
              base: def.retries.base,
              cap: fixed ? def.retries.base : def.retries.cap,
              jitter: 'full',
              signal: abort.signal,
              clock,
              shouldRetry: (err) => !abort.aborted && isRetryable(err),
              onRetry: (err, attempt, delayMs) =>
                input.hooks
                  .log()
                  .warn({ err, attempt, delayMs }, `run failed, retry ${attempt}/${def.retries.max} in ${delayMs} ms`),
            },
          );
    return { outcome: outcomeOf(result, targets), attempts: Math.max(1, attempts), targets };
  } catch (err) {
    const reason = abort.aborted ? (abort.reason ?? err) : err;
    return { outcome: failedOutcome(reason, targets), attempts: Math.max(1, attempts), targets };
  }
}
