import type { KV } from 'nats';

const encoder = new TextEncoder();

/**
 * Compare-and-set on one JSON KV entry, shared by replicas: `fn` sees the current value and returns the next one
 * (undefined: leave it) and a result; when another replica wrote first, it runs again on the fresh value.
 */
export async function applyJson<T, R>(
  kv: KV,
  key: string,
  fn: (current: T | undefined) => { next?: T; result: R },
  what: string,
  attempts = 20,
): Promise<R> {
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    const e = await kv.get(key);
    const { next, result } = fn(e?.operation === 'PUT' ? e.json<T>() : undefined);
    if (next === undefined) return result;
    const data = encoder.encode(JSON.stringify(next));
    try {
      if (!e) await kv.create(key, data);
      else await kv.update(key, data, e.revision);
      return result;
    } catch (err) {
      lastErr = err; // another replica wrote first: read again
    }
  }
  throw lastErr instanceof Error ? lastErr : new Error(`${what} update kept conflicting`);
}
