import { ErrorCode } from '../errors/codes.js';
import { errorCodeOf } from '../errors/classify.js';

/**
 * An open breaker's refusal (VIGIL_E_BREAKER_OPEN), as thrown or wrapped a few levels deep (a cache's "unavailable"
 * around it): `openedBy` is the failure that opened the breaker when the breaker kept it. Alerts name that failure
 * ("HTTP 500 model overloaded"), which is what a reader needs; "breaker … is open" alone hides the cause.
 */
export function breakerRefusal(err: unknown): { openedBy?: unknown } | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const cause = (e as { cause?: unknown }).cause;
    if (errorCodeOf(e) === ErrorCode.BREAKER_OPEN) return cause === undefined ? {} : { openedBy: cause };
    e = cause;
  }
  return undefined;
}
