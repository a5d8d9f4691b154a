import {
  type Breaker,
  breakerRefusal,
  type BreakerOptions,
  type Clock,
  createBreaker,
  ErrorCode,
  errorMessage,
  type EventPublisher,
  type Logger,
  retry,
  isRetryable,
  PermanentError,
  scrubSecrets,
  TransientError,
} from '@vigil/shared';
import { type ChatAnswer, type ChatRequest, chatCompletion } from './chat-client.js';

export interface ModelChainOptions {
  endpoint: string;
  apiKey?: string;
  /** Tried in order: primary first, then each fallback. */
  models: string[];
  /** Retries per model after its first call. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this moves on to the next model instead of waiting. */
  maxRetryAfterMs: number;
  timeoutMs: number;
  maxTokens?: number;
}

export interface ModelChainDeps {
  log: Logger;
  clock: Clock;
  bus?: EventPublisher;
  registry?: BreakerOptions['registry'];
  failureThreshold?: number;
  resetTimeoutMs?: number;
}

export interface ChainAnswer extends ChatAnswer {
  /** Models tried before the one that answered, with why they were skipped. */
  skipped: { model: string; error: string }[];
}

/**
 * A model fallback chain: each model gets retries with full-jitter backoff (429 Retry-After honoured),
 * behind its own breaker, so a dead model is skipped fast for every target after a few failures.
 */
export class ModelChain {
  private readonly breakers = new Map<string, Breaker<[ChatRequest], ChatAnswer>>();

  constructor(private readonly deps: ModelChainDeps) {}

  private breaker(endpoint: string, model: string): Breaker<[ChatRequest], ChatAnswer> {
    const key = `${endpoint}|${model}`;
    let b = this.breakers.get(key);
    if (!b) {
      // One breaker per model per endpoint, and as many names: two jobs calling the same model on two endpoints
      // must not report (metrics, breaker.* subjects, alerts) as one breaker.
      b = createBreaker(`llm-${model}@${hostOf(endpoint)}`, chatCompletion, {
        service: 'reports',
        bus: this.deps.bus,
        registry: this.deps.registry,
        failureThreshold: this.deps.failureThreshold ?? 5,
        resetTimeoutMs: this.deps.resetTimeoutMs ?? 30_000,
        logger: this.deps.log,
      });
      this.breakers.set(key, b);
    }
    return b;
  }

  /** Names and states of every breaker (for health reports). */
  states(): { name: string; state: string }[] {
    return [...this.breakers.values()].map((b) => ({ name: b.name, state: b.state }));
  }

  async complete(
    opts: ModelChainOptions,
    messages: ChatRequest['messages'],
    signal: AbortSignal,
    log: Logger,
  ): Promise<ChainAnswer> {
    const skipped: { model: string; error: string }[] = [];
    let last: unknown;
    // Whether any model failed in a way that may pass (5xx, 429, network, an open breaker): only then is the
    // whole chain worth another try later.
    let anyRetryable = false;
    for (const model of opts.models) {
      const breaker = this.breaker(opts.endpoint, model);
      try {
        const answer = await retry(
          () =>
            breaker.fire({
              endpoint: opts.endpoint,
              apiKey: opts.apiKey,
              model,
              messages,
              maxTokens: opts.maxTokens,
              timeoutMs: opts.timeoutMs,
              signal,
            }),
          {
            max: opts.retries,
            base: opts.baseDelayMs,
            cap: opts.maxDelayMs,
            clock: this.deps.clock,
            signal,
            // An open breaker or a very long Retry-After: the next model is the faster way out.
            shouldRetry: (err) =>
              isRetryable(err) &&
              (err as { code?: string }).code !== ErrorCode.BREAKER_OPEN &&
              ((err as TransientError).retryAfterMs ?? 0) <= opts.maxRetryAfterMs,
            onRetry: (err, attempt, delayMs) =>
              log.warn({ model, attempt, delayMs, error: (err as Error).message }, 'model call failed; retrying'),
          },
        );
        return { ...answer, skipped };
      } catch (err) {
        if (signal.aborted) throw err;
        last = err;
        anyRetryable ||= isRetryable(err);
        skipped.push({ model, error: scrubSecrets(skipReason(err)) });
        log.warn({ model, error: (err as Error).message }, 'model failed; falling back to the next model');
      }
    }
    // what each model answered, in the message itself: the alert shows the message, not the details
    const why = skipped.map((s) => `${s.model}: ${s.error.slice(0, 160)}`).join('; ');
    const message = `every model failed (${opts.models.join(' -> ')}): ${why}`;
    const failure = { code: ErrorCode.MODEL_UNAVAILABLE, cause: last, details: { skipped } };
    // Every model refused for good (400 bad request, 401, 404 unknown model): a retry or replay asks the same and
    // is refused the same, so the alert must not read "transient" and the runner must not retry it.
    if (!anyRetryable) throw new PermanentError(message, failure);
    throw new TransientError(message, failure);
  }
}

/**
 * Why a model was skipped, in the alert's words: an open breaker is named with the failure that opened it ("HTTP 500
 * upstream model overloaded"), which is what the reader needs; "breaker … is open" alone hides the cause.
 */
function skipReason(err: unknown): string {
  const openedBy = breakerRefusal(err)?.openedBy;
  return openedBy === undefined
    ? errorMessage(err)
    : `not called, its breaker is open after: ${errorMessage(openedBy)}`;
}

/** The endpoint's host (with port) for a breaker name; the text itself when it is not a URL. */
function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host || endpoint;
  } catch {
    return endpoint;
  }
}
