import {
  DiscardPolicy,
  type JetStreamManager,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from 'nats';
import { isAlreadyInUse, isNotFound } from '../nats/errors.js';
import { storageReplicas } from './storage-replicas.js';

const DAY = 24 * 60 * 60 * 1000;

export interface StreamSpec {
  name: string;
  subjects: string[];
  maxAgeMs: number;
}

/** The contract's streams (§4). All limits-retention, file storage. */
export const STREAMS: readonly StreamSpec[] = [
  { name: 'VIGIL_JOBS', subjects: ['job.>'], maxAgeMs: 7 * DAY },
  // Not `secrets.>`: that would capture the request/reply subjects secrets.get / secrets.status, and JetStream
  // would answer every request with a PubAck before the secrets service could (and store each request).
  {
    name: 'VIGIL_SECRETS',
    subjects: ['secrets.refreshed', 'secrets.refresh-failed', 'secrets.stale-served'],
    maxAgeMs: 7 * DAY,
  },
  { name: 'VIGIL_WEBHOOKS', subjects: ['webhook.>'], maxAgeMs: 7 * DAY },
  { name: 'VIGIL_NOTIFY', subjects: ['notify.>', 'notification.>'], maxAgeMs: 7 * DAY },
  { name: 'VIGIL_OPS', subjects: ['breaker.>', 'service.>'], maxAgeMs: DAY },
  { name: 'VIGIL_DLQ', subjects: ['dlq.>'], maxAgeMs: 30 * DAY },
];

export const DLQ_STREAM = 'VIGIL_DLQ';

const streamByHead = new Map<string, string>();
for (const s of STREAMS) for (const p of s.subjects) streamByHead.set(p.slice(0, p.indexOf('.')), s.name);

/** The stream that captures a subject (by its first token), or undefined. */
export function streamForSubject(subject: string): string | undefined {
  const dot = subject.indexOf('.');
  return streamByHead.get(dot < 0 ? subject : subject.slice(0, dot));
}

export interface EnsureStreamsOptions {
  /** JetStream de-duplication window for Nats-Msg-Id (default 2 minutes). */
  duplicateWindowMs?: number;
  /** Override max_age per stream name (tests, operators). */
  maxAgeMs?: Partial<Record<string, number>>;
  /** Default: NATS_REPLICAS (storageReplicas()). */
  replicas?: number;
  /** Only these streams (default: all six). */
  only?: string[];
}

function desiredConfig(spec: StreamSpec, opts: EnsureStreamsOptions): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: spec.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(opts.maxAgeMs?.[spec.name] ?? spec.maxAgeMs),
    duplicate_window: nanos(opts.duplicateWindowMs ?? 2 * 60 * 1000),
    num_replicas: opts.replicas ?? storageReplicas(),
  };
}

function differs(current: StreamConfig, want: Partial<StreamConfig>): boolean {
  const subj = (a: string[] = []) => [...a].sort().join(',');
  return (
    subj(current.subjects) !== subj(want.subjects) ||
    current.max_age !== want.max_age ||
    current.duplicate_window !== want.duplicate_window ||
    current.discard !== want.discard ||
    current.num_replicas !== want.num_replicas
  );
}

async function infoOrUndefined(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function ensureOne(jsm: JetStreamManager, want: Partial<StreamConfig> & { name: string }): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const info = await infoOrUndefined(jsm, want.name);
    if (!info) {
      try {
        await jsm.streams.add(want);
        return;
      } catch (err) {
        // another replica created it between our info and add: re-read and compare
        if (isAlreadyInUse(err) && attempt < 3) continue;
        throw err;
      }
    }
    if (!differs(info.config, want)) return;
    // storage and retention cannot change on a live stream; update what can
    const { storage: _s, retention: _r, name: _n, ...updatable } = want;
    await jsm.streams.update(want.name, { ...info.config, ...updatable });
    return;
  }
}

/**
 * Creates the contract's streams, or updates them when their config drifted (subjects, max_age,
 * duplicate window). Idempotent, and safe when every replica runs it at the same time.
 */
export async function ensureStreams(jsm: JetStreamManager, opts: EnsureStreamsOptions = {}): Promise<void> {
  const specs = opts.only ? STREAMS.filter((s) => opts.only?.includes(s.name)) : STREAMS;
  await Promise.all(specs.map((spec) => ensureOne(jsm, desiredConfig(spec, opts))));
}
