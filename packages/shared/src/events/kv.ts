import type { JetStreamClient, KV, KvEntry, KvOptions } from 'nats';
import { ErrorCode, TransientError } from '../errors/index.js';
import { withTimeout } from '../lifecycle/with-timeout.js';
import { isAlreadyInUse, jsErrCode } from '../nats/errors.js';
import { systemClock } from '../time/index.js';
import { storageReplicas } from './storage-replicas.js';

export interface OpenKvOptions {
  /** Entries expire this long after their last write. */
  ttlMs?: number;
  /** Values kept per key (1..64). */
  history?: number;
}

/**
 * Creates the KV bucket or binds to it. Every replica calls this at start: when two create it at
 * once, or it exists with another config, the loser binds to what is there.
 */
export async function openKv(js: JetStreamClient, bucket: string, opts: OpenKvOptions = {}): Promise<KV> {
  const create: Partial<KvOptions> = { replicas: storageReplicas() };
  if (opts.ttlMs !== undefined) create.ttl = opts.ttlMs;
  if (opts.history !== undefined) create.history = opts.history;
  try {
    return await js.views.kv(bucket, create);
  } catch (err) {
    if (!isAlreadyInUse(err)) throw err;
    return await js.views.kv(bucket, { bindOnly: true });
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A value as the bytes of a JSON KV entry. */
export const encodeKvJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

/** The JSON value a KV entry holds; undefined for no entry, a delete (or purge) marker, or an empty value. */
export const decodeKvJson = <T>(entry: KvEntry | null | undefined): T | undefined =>
  entry && entry.operation === 'PUT' && entry.length > 0 ? (JSON.parse(decoder.decode(entry.value)) as T) : undefined;

/** A KV write lost a compare-and-set: the key's last revision is no longer the one written at (or it exists). */
export function isWrongRevision(err: unknown): boolean {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return jsErrCode(err) === 10071 || /wrong last sequence|key exists/i.test(String(message ?? ''));
}

/** A NATS KV call of `updateKvJson` that did not answer within its `timeoutMs` (never retried). */
export class KvTimeoutError extends TransientError {
  constructor(what: string, ms: number, cause?: unknown) {
    super(`${what}: NATS KV did not answer within ${ms}ms`, { code: ErrorCode.TIMEOUT, cause });
  }
}

/** What `updateKvJson`'s `decide` returns. */
export interface KvJsonDecision<T, R> {
  /** undefined: leave the entry as it is; null: delete it (at the revision read); a value: write it. */
  next?: T | null;
  /** What `updateKvJson` resolves to once the decision is stored. */
  result: R;
}

export interface UpdateKvJsonOptions {
  /** Reads (each followed by at most one write) before giving up; default 20. */
  attempts?: number;
  /** Bound on each NATS call (read, write); past it the update fails with KvTimeoutError. Default: none. */
  timeoutMs?: number;
  /** Which failed writes are read again and retried; default: a lost compare-and-set (`isWrongRevision`). */
  retryIf?: (err: unknown) => boolean;
  /** Pause (ms) after the failed write of attempt `attempt` (0-based), so colliding writers spread out; default none. */
  backoffMs?: (attempt: number) => number;
  /** Names the record in errors; default `KV <key>`. */
  what?: string;
}

/**
 * Read-modify-write of one JSON KV entry with compare-and-set, for entries several replicas write: `decide` sees the
 * current value (undefined: none, or deleted) and returns the next one and a result. A value is created when there is
 * no entry and otherwise written at the revision read (a delete marker's too, so a concurrent create loses); null
 * deletes at the revision read. When another writer came first, the write fails and `decide` runs again on the fresh
 * value. Past `attempts`, the last write error is thrown.
 */
export async function updateKvJson<T, R>(
  kv: KV,
  key: string,
  decide: (current: T | undefined) => KvJsonDecision<T, R>,
  opts: UpdateKvJsonOptions = {},
): Promise<R> {
  const { attempts = 20, timeoutMs, retryIf = isWrongRevision, backoffMs } = opts;
  const what = opts.what ?? `KV ${key}`;
  const bounded = <X>(p: Promise<X>): Promise<X> => (timeoutMs === undefined ? p : kvBounded(p, timeoutMs, what));
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    const entry = await bounded(kv.get(key));
    const { next, result } = decide(decodeKvJson<T>(entry));
    if (next === undefined) return result;
    try {
      if (next === null) {
        if (entry?.operation === 'PUT') await bounded(kv.delete(key, { previousSeq: entry.revision }));
      } else if (!entry) {
        await bounded(kv.create(key, encodeKvJson(next)));
      } else {
        await bounded(kv.update(key, encodeKvJson(next), entry.revision));
      }
      return result;
    } catch (err) {
      if (err instanceof KvTimeoutError || !retryIf(err)) throw err;
      lastErr = err;
      const pause = i + 1 < attempts ? (backoffMs?.(i) ?? 0) : 0;
      if (pause > 0) await systemClock.sleep(pause);
    }
  }
  throw lastErr instanceof Error ? lastErr : new Error(`${what}: updates kept conflicting`);
}

function kvBounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let late = false;
  return withTimeout(p, ms, systemClock, () => {
    late = true;
  }).catch((err: unknown) => {
    throw late ? new KvTimeoutError(what, ms, err) : err;
  });
}
