import { updateKvJson } from '@vigil/shared';
import type { KV } from 'nats';

/**
 * Compare-and-set on one JSON KV entry, shared by replicas: `fn` sees the current value and returns the next one
 * (undefined: leave it) and a result; when another replica wrote first, it runs again on the fresh value.
 */
export function applyJson<T, R>(
  kv: KV,
  key: string,
  fn: (current: T | undefined) => { next?: T; result: R },
  what: string,
  attempts = 20,
): Promise<R> {
  // any failed write is read again (a conflict, or a write whose answer was lost)
  return updateKvJson(kv, key, fn, { attempts, what, retryIf: () => true });
}
