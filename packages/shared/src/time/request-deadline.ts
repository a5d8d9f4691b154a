import { ErrorCode } from '../errors/codes.js';
import { requestFailureReason } from '../errors/error-message.js';
import { ValidationError } from '../errors/vigil-error.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';

/**
 * How an outbound request is bounded. `AbortSignal.timeout()` and `AbortSignal.any()` must
 * not bound a request: their signals are held weakly (nodejs/node#55428, nodejs/undici#4068), so after a garbage
 * collection the timeout may never fire and a hanging request hangs for good. Here a plain AbortController is held
 * by a referenced timer until the caller clears it, which no collection can take away.
 */
export interface DeadlineSignal {
  /** Aborts at the deadline (reason: a DOMException named TimeoutError, as AbortSignal.timeout's) or with a parent. */
  readonly signal: AbortSignal;
  /** Stops the timer and unhooks the parents; call it in `finally` once the response (body included) is read. */
  clear(): void;
}

/** setTimeout's largest delay: a longer one fires after 1 ms instead, so a longer deadline waits this long. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A signal that aborts after `ms` or when any parent aborts, whichever is first. */
export function deadlineSignal(ms: number, ...parents: (AbortSignal | undefined)[]): DeadlineSignal {
  return deadlineSignalOn(systemClock, ms, ...parents);
}

/** deadlineSignal() on a clock's own timers, so a ManualClock controls it too. */
export function deadlineSignalOn(clock: Clock, ms: number, ...parents: (AbortSignal | undefined)[]): DeadlineSignal {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw new ValidationError(`a deadline must be a number of milliseconds >= 0, not ${String(ms)}`, {
      code: ErrorCode.VALIDATION,
    });
  }
  const controller = new AbortController();
  const hooked: { parent: AbortSignal; onAbort: () => void }[] = [];
  let timer: TimerHandle | undefined;
  const clear = () => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    for (const { parent, onAbort } of hooked.splice(0)) parent.removeEventListener('abort', onAbort);
  };
  // Aborting unhooks everything at once: nothing is left to fire, and a long-lived parent (a run's signal) keeps
  // no listener per request it once bounded.
  const abort = (reason: unknown) => {
    clear();
    controller.abort(reason);
  };
  const already = parents.find((p) => p?.aborted);
  if (already) {
    controller.abort(already.reason);
    return { signal: controller.signal, clear };
  }
  for (const parent of parents) {
    if (!parent) continue;
    const onAbort = () => abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    hooked.push({ parent, onAbort });
  }
  timer = clock.setTimeout(
    () => abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    Math.min(ms, MAX_TIMER_MS),
  );
  return { signal: controller.signal, clear };
}

/** The signal ended by its deadline (not by a parent, such as a cancelled run). */
export function isDeadlineAbort(signal: AbortSignal | undefined): boolean {
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  return reason instanceof DOMException && reason.name === 'TimeoutError';
}

/**
 * What a request bounded by a {@link deadlineSignal} failed of: a parent's abort (a cancelled run) keeps the parent's
 * reason, the deadline becomes `timedOut()`, anything else `failed(reason)` with the network reason fetch keeps in
 * `cause` (its own `TypeError: fetch failed` names none).
 */
export function requestFailure(
  err: unknown,
  signal: AbortSignal | undefined,
  say: { timedOut(): unknown; failed(reason: string): unknown },
): unknown {
  if (signal?.aborted) return isDeadlineAbort(signal) ? say.timedOut() : err;
  return say.failed(requestFailureReason(err));
}
