import type { SecretStatus as SecretStatusReply } from '@vigil/shared';
import type { ProviderValue } from './providers/types.js';

// The secret cache's vocabulary: what it stores, serves and reports, and what it is wired to.

/** Where a served value came from: the live provider, or the encrypted last-known-good copy in Redis. */
export type SecretSource = 'aws' | 'file' | 'env' | 'last-known-good';

export interface StoredSecret extends ProviderValue {
  /** When the provider last returned this value (ms since epoch). */
  fetchedAt: number;
  source: SecretSource;
}

export interface ServedSecret {
  name: string;
  value: string;
  version?: string;
  encoding?: 'utf8' | 'base64';
  stale: boolean;
  ageSeconds: number;
  source: SecretSource;
}

/** One line of `vigil secrets status`: the shared reply shape (the CLI reads it), with this service's sources. */
export interface SecretStatus extends SecretStatusReply {
  source: SecretSource | null;
  /** A configured secret the provider does not have (`cached: false`, `stale: false`; `secrets.get` answers 404). */
  notFound?: true;
}

/** What the cache tells the outside world; the service turns these into logs, events and metrics. */
export interface CacheHooks {
  /**
   * A cached value answered because the provider is failing. Fires on every stale answer; `newError` is true
   * for the first answer after a new provider failure (log it), `firstInOutage` once per outage (announce it).
   */
  staleServed?(info: {
    name: string;
    ageSeconds: number;
    errorType: string;
    error: unknown;
    newError: boolean;
    firstInOutage: boolean;
    source: SecretSource;
  }): void;
  /** A provider call succeeded for a secret that had been failing. */
  recovered?(info: { name: string; downForSeconds: number }): void;
  /** The provider did not answer within `staleAfterMs`; the cached value answered meanwhile. */
  slowProvider?(info: { name: string; ageSeconds: number; waitedMs: number }): void;
  /** Every provider call, for the latency histogram. */
  providerCall?(info: { name: string; ms: number; ok: boolean }): void;
  /** A fresh value arrived (persist it as last-known-good). */
  stored?(name: string, secret: StoredSecret): void;
}

export interface LastKnownGood {
  load(name: string): Promise<StoredSecret | undefined>;
  /** Drops the copy of a secret the provider no longer has (a restart must not bring it back). */
  forget?(name: string): Promise<void>;
}

/** A secret's provider outage as the ledger keeps it. */
export interface OutageRecord {
  /** The first failed provider call of the outage (ms since epoch). */
  since: number;
  /** `secrets.stale-served` went out for this outage. */
  announced: boolean;
}

/**
 * Where outages outlive the process and are shared by replicas (NATS KV, outage-ledger.ts): a restarted or second
 * instance continues the outage another one began (same start, no second stale-served announcement). Every call
 * may fail (NATS away): the cache then goes on with what it knows in memory.
 */
export interface OutageLedger {
  /**
   * Joins the secret's recorded outage, or records one starting at `at`. A record older than `answeredAt` (the
   * provider answered for the secret after it began: a record whose removal failed) is replaced, not joined.
   */
  begin(name: string, at: number, answeredAt?: number): Promise<OutageRecord>;
  /**
   * Claims the one stale-served announcement of the secret's outage: true for exactly one caller; false when the
   * record is gone (the outage ended meanwhile).
   */
  announce(name: string, since: number): Promise<boolean>;
  /**
   * The secret answers again (or no longer exists): removes its record and returns it; undefined when none. With
   * `since`, only the record of that outage (a newer one, begun after another instance saw the recovery, stays).
   */
  end(name: string, since?: number): Promise<OutageRecord | undefined>;
}

export interface SecretCacheOptions {
  /** Calls the provider (already behind the breaker). */
  fetch: (name: string) => Promise<ProviderValue>;
  providerName: 'aws' | 'file' | 'env';
  now: () => number;
  ttlMs: (name: string) => number;
  /** Refresh in the background once this little time is left before expiry. */
  refreshAheadMs: (ttlMs: number) => number;
  maxStaleMs: number;
  /** After a failed call, serve the stale value at once for this long before asking the provider again. */
  errorBackoffMs: number;
  /** With a cached (expired) value, answer stale when the provider takes longer than this. Default: wait. */
  staleAfterMs?: number;
  lastKnownGood?: LastKnownGood;
  /** Outages shared across restarts and replicas; without it they live in memory only. */
  outages?: OutageLedger;
  hooks?: CacheHooks;
}

export interface CacheEntry {
  secret: StoredSecret;
  expiresAt: number;
  lastError?: { type: string; message: string; at: number; cause: unknown; reported: boolean };
  /** Set while the provider is failing for this secret. */
  outageSince?: number;
  /** The stale-served announcement of this outage went out (one per secret per outage). */
  staleAnnounced?: boolean;
  /** The outage is in the ledger: its recovery is announced by whoever removes the record. */
  outageRecorded?: boolean;
  /** The ledger record's own start: it names the record, so a stale replica never removes a newer outage's. */
  recordSince?: number;
  nextAttemptAt: number;
}
