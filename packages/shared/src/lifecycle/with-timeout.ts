import { ErrorCode, TransientError } from '../errors/index.js';
import { type Clock, systemClock } from '../time/index.js';

/** Rejects with TransientError VIGIL_E_TIMEOUT when `p` is not settled within `ms` (after calling onTimeout). */
export function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  clock: Clock = systemClock,
  onTimeout?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      onTimeout?.();
      reject(new TransientError(`timed out after ${ms}ms`, { code: ErrorCode.TIMEOUT }));
    }, ms);
    p.then(
      (v) => {
        clock.clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimeout(timer);
        reject(e);
      },
    );
  });
}
