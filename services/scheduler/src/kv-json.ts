import type { KV, KvEntry } from 'nats';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const encodeJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
export const decodeJson = <T>(entry: KvEntry | null | undefined): T | undefined =>
  entry && entry.operation === 'PUT' && entry.length > 0 ? (JSON.parse(decoder.decode(entry.value)) as T) : undefined;

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
    for (let i = 0; i < attempts; i++) {
      const entry = await kv.get(key);
      const prev = decodeJson<T>(entry);
      const next = fn(prev);
      if (next === undefined) return prev;
      try {
        if (entry && entry.operation === 'PUT') await kv.update(key, encodeJson(next), entry.revision);
        else await kv.create(key, encodeJson(next));
        return next;
      } catch (err) {
        if (!isWrongRevision(err)) throw err;
        // another replica wrote in between: back off a little so the writers do not keep colliding
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (i + 1)));
      }
    }
    throw new Error(`KV ${key}: too many concurrent writers`);
  });
}

export function isWrongRevision(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10071 || /wrong last sequence|key exists/i.test(String(e?.message ?? ''));
}
