import type { JetStreamClient, KV, KvOptions } from 'nats';
import { isAlreadyInUse } from '../nats/errors.js';
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
