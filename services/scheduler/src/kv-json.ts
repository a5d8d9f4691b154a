import { isWrongRevision, updateKvJson } from '@vigil/shared';
import type { KV } from 'nats';

export { decodeKvJson as decodeJson, encodeKvJson as encodeJson, isWrongRevision } from '@vigil/shared';

const chains = new Map<string, Promise<unknown>>();
const bucketIds = new WeakMap<KV, number>();
let nextBucketId = 0;
function bucketId(kv: KV): number {
  let id = bucketIds.get(kv);
  if (id === undefined) {
    id = nextBucketId++;
    bucketIds.set(kv, id);
  }
  return id;
}

/** Runs `fn` after every earlier call with the same key in this process (writers here never race each other). */
function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = chains.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  chains.set(key, tail);
  void tail.then(() => {
    if (chains.get(key) === tail) chains.delete(key);
  });
  return next;
}

/**
 * Read-modify-write with compare-and-set: several replicas fold events into the same key, so a write
 * based on a stale read is retried on the fresh value instead of overwriting it.
 */
export function updateJson<T>(
  kv: KV,
  key: string,
  fn: (prev: T | undefined) => T | undefined,
  attempts = 30,
): Promise<T | undefined> {
  return serialised(`${bucketId(kv)}/${key}`, async () => {
    try {
      return await updateKvJson<T, T | undefined>(
        kv,
        key,
        (prev) => {
          const next = fn(prev);
          return next === undefined ? { result: prev } : { next, result: next };
        },
        {
          attempts,
          // only a lost compare-and-set is retried; another replica wrote in between: back off a little so the
          // writers do not keep colliding
          backoffMs: (i) => Math.random() * 5 * (i + 1),
        },
      );
    } catch (err) {
      if (isWrongRevision(err)) throw new Error(`KV ${key}: too many concurrent writers`, { cause: err });
      throw err;
    }
  });
}
