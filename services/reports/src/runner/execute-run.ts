import {
  type Clock,
  ErrorCode,
  errorMessage,
  isRetryable,
  type JobDefinition,
  type Logger,
  PermanentError,
  retry,
  TransientError,
  ValidationError,
  VigilError,
} from '@vigil/shared';
import type { HandlerContext, HandlerErrors, HandlerSecrets, JobHandler } from '../handler-api.js';
import { resolveSecretRefs, hasSecretRefs } from './resolve-options.js';
import type { RunAbort } from './run-abort.js';
import { failedOutcome, outcomeOf, type RunOutcome } from './run-outcome.js';
import { resolveTargets } from './targets.js';

export interface ExecuteInput {
  runId: string;
  def: JobDefinition;
  handler: JobHandler;
  requestedTargets?: string[];
  /** The request's `scheduledAt` (ISO 8601). */
  scheduledAt: string;
  baseDir: string;
  secrets: HandlerSecrets;
  clock: Clock;
  /** The run's logger (created on first use), progress notes and cancellation. */
  hooks: RunHooks;
}

export interface RunHooks {
  log(): Logger;
  correlationId(): string;
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

const HANDLER_ERRORS: HandlerErrors = Object.freeze({ TransientError, PermanentError, ValidationError });

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
  readonly scheduledAt: string;
  readonly timezone: string;

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
    this.scheduledAt = input.scheduledAt;
    this.timezone = input.def.timezone;
  }

  get log(): Logger {
    return this.input.hooks.log();
  }

  get correlationId(): string {
    return this.input.hooks.correlationId();
  }

  get signal(): AbortSignal {
    return this.input.hooks.abort.signal;
  }

  get errors(): HandlerErrors {
    return HANDLER_ERRORS;
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

/** A problem validate() reported (a returned message, or an untyped error it threw) as the run's failure. */
function validationError(problem: unknown, job: string, cause?: unknown): ValidationError {
  const message = errorMessage(problem);
  return new ValidationError(message, { code: ErrorCode.VALIDATION, cause, details: { job } });
}

/**
 * Runs the handler with the job's retry policy (full-jitter backoff). Each attempt resolves the run's targets
 * and `${secret:…}` options afresh (a briefly unavailable secrets service is retried like the handler), and the
 * handler's validate() runs before its first call. Validation problems fail at once with class `validation`,
 * before any side effect; only retryable errors are retried.
 */
export async function executeRun(input: ExecuteInput): Promise<ExecuteResult> {
  const { def, handler, clock } = input;
  const { abort } = input.hooks;
  let attempts = 0;
  let targets: string[] = [];
  let validated = handler.validate === undefined;
  const noTargets = def.targets === undefined && !input.requestedTargets;
  const secretRefs = needsSecrets(def);
  // The common case (plain target list or none, no secret references, validated) calls the handler directly.
  const plain = noTargets && !secretRefs;
  const prepared = async (attempt: number) => {
    targets = noTargets ? [] : await resolveTargets(def, input.requestedTargets, input.secrets);
    const options = (secretRefs ? await resolveSecretRefs(def.options, input.secrets) : def.options) as Record<
      string,
      unknown
    >;
    const ctx = new RunContext(input, attempt, targets, options);
    if (!validated && handler.validate) {
      let problem: unknown;
      try {
        problem = await handler.validate(ctx);
      } catch (err) {
        // A typed error keeps its class; anything else a validate() throws is a validation problem, not retried.
        throw err instanceof VigilError ? err : validationError(err, def.name, err);
      }
      if (typeof problem === 'string' && problem) throw validationError(problem, def.name);
      validated = true;
    }
    return handler.run(ctx);
  };
  const attempt = (n: number) => {
    attempts = n;
    return plain && validated
      ? handler.run(new RunContext(input, n, targets, def.options as Record<string, unknown>))
      : prepared(n);
  };
  try {
    const fixed = def.retries.backoff === 'fixed';
    const result =
      def.retries.max === 0
        ? await attempt(1)
        : await retry(attempt, {
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
          });
    return { outcome: outcomeOf(result, targets), attempts: Math.max(1, attempts), targets };
  } catch (err) {
    const reason = abort.aborted ? (abort.reason ?? err) : err;
    return { outcome: failedOutcome(reason, targets), attempts: Math.max(1, attempts), targets };
  }
}
