import { ErrorCode, MAX_STALE_REFUSAL, TransientError, withTimeout } from '@vigil/shared';
import type { CacheEntry, SecretCacheOptions, ServedSecret, SecretStatus, StoredSecret } from './cache-types.js';
import { describeProviderFailure, isSecretNotFound } from './providers/provider-errors.js';
import { errorView, NeverLoadedSecrets } from './never-loaded.js';
import { OutageSharing } from './outage-sharing.js';
import type { ProviderValue } from './providers/types.js';

/**
 * The in-memory secret cache: TTL, refresh-ahead, single-flight, and stale-on-error with a maximum stale age.
 * It decides; it does no I/O except through `fetch` and `lastKnownGood`.
 */
export class SecretCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  private readonly lkgChecked = new Set<string>();
  private readonly outages: OutageSharing;
  /** Last failure of secrets that have no value at all, so status can show them. */
  private readonly neverLoaded = new NeverLoadedSecrets();

  constructor(private readonly opts: SecretCacheOptions) {
    this.outages = new OutageSharing({
      ledger: opts.outages,
      hooks: opts.hooks,
      now: opts.now,
      current: (name) => this.entries.get(name),
    });
  }

  async get(name: string): Promise<ServedSecret> {
    const now = this.opts.now();
    const entry = this.entries.get(name);
    if (entry && now < entry.expiresAt) {
      // Still within its TTL: valid even if a refresh-ahead call failed (that failure shows in status).
      const due = entry.lastError
        ? now >= entry.nextAttemptAt
        : now >= entry.expiresAt - this.opts.refreshAheadMs(this.opts.ttlMs(name));
      if (due) this.refreshInBackground(name);
      return this.serve(name, entry, false);
    }
    if (entry?.lastError && this.isServable(entry, now)) {
      // Known outage: answer from the cache at once, let one background call find out whether it is over.
      if (now >= entry.nextAttemptAt) this.refreshInBackground(name);
      return this.serveStale(name, entry);
    }
    const refreshing = this.refresh(name);
    if (entry && this.isServable(entry, now) && this.opts.staleAfterMs !== undefined) {
      // A hanging provider must not outlast the caller's timeout when a cached value exists.
      const slow = await raceTimeout(refreshing, this.opts.staleAfterMs);
      if (slow) {
        const served = this.serve(name, entry, true);
        this.opts.hooks?.slowProvider?.({ name, ageSeconds: served.ageSeconds, waitedMs: this.opts.staleAfterMs });
        return served;
      }
    }
    const loaded = await refreshing;
    return loaded.lastError ? this.serveStale(name, loaded) : this.serve(name, loaded, this.isStale(loaded));
  }

  /** Forces one provider call (single-flight); warming uses this. Rejects like get() would. */
  async refresh(name: string): Promise<CacheEntry> {
    let p = this.inflight.get(name);
    if (!p) {
      p = this.load(name).finally(() => this.inflight.delete(name));
      this.inflight.set(name, p);
    }
    return p;
  }

  /** Warm one secret: resolves when the provider answered, rejects with its error (stale value kept). */
  async warm(name: string): Promise<void> {
    const entry = await this.refresh(name);
    if (entry.lastError) throw entry.lastError.cause;
  }

  status(): SecretStatus[] {
    const now = this.opts.now();
    const rows: SecretStatus[] = [...this.entries.entries()].map(([name, e]) => ({
      name,
      cached: true,
      ageSeconds: ageSeconds(now, e.secret.fetchedAt),
      source: e.secret.source,
      stale: this.isStale(e, now),
      ...(e.lastError ? { lastError: errorView(e.lastError) } : {}),
      expiresInSeconds: Math.max(0, Math.round((e.expiresAt - now) / 1000)),
    }));
    rows.push(...this.neverLoaded.rows((name) => this.entries.has(name)));
    return rows.sort((a, b) => a.name.localeCompare(b.name));
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The names the configuration asks for (the warmer tells at every cycle). */
  setConfigured(names: Iterable<string>): void {
    // Forgets what requests alone left behind: an unconfigured name the provider does not have.
    this.neverLoaded.setConfigured(names);
  }

  ages(): Array<{ name: string; ageSeconds: number }> {
    const now = this.opts.now();
    return [...this.entries.entries()].map(([name, e]) => ({ name, ageSeconds: ageSeconds(now, e.secret.fetchedAt) }));
  }

  private refreshInBackground(name: string): void {
    // Errors are already recorded on the entry (lastError) and reported through hooks.
    this.refresh(name).catch(() => undefined);
  }

  private async load(name: string): Promise<CacheEntry> {
    const started = this.opts.now();
    const t0 = performance.now();
    try {
      const value = await this.opts.fetch(name);
      this.opts.hooks?.providerCall?.({ name, ms: performance.now() - t0, ok: true });
      return this.store(name, value, started);
    } catch (err) {
      this.opts.hooks?.providerCall?.({ name, ms: performance.now() - t0, ok: false });
      return this.onFailure(name, err);
    }
  }

  private store(name: string, value: ProviderValue, fetchedAt: number): CacheEntry {
    const previous = this.entries.get(name);
    const secret: StoredSecret = { ...value, fetchedAt, source: this.opts.providerName };
    const entry: CacheEntry = { secret, expiresAt: fetchedAt + this.opts.ttlMs(name), nextAttemptAt: fetchedAt };
    this.entries.set(name, entry);
    this.neverLoaded.loaded(name);
    // Announce recovery where an outage was announced; warming reports its own recoveries per cycle.
    this.outages.recovered(name, previous);
    this.opts.hooks?.stored?.(name, secret);
    return entry;
  }

  private async onFailure(name: string, err: unknown): Promise<CacheEntry> {
    if (isSecretNotFound(err)) {
      // The provider answered definitively: a deleted secret must stop being served, now and after a restart.
      const evicted = this.entries.delete(name) || this.neverLoaded.wasEvicted(name);
      await this.opts.lastKnownGood?.forget?.(name).catch(() => undefined);
      // Not an outage: its record goes without a recovery announcement.
      this.outages.forget(name);
      this.noteNeverLoaded(name, 'ResourceNotFoundException', (err as Error).message, evicted ? 'evicted' : 'unknown');
      throw err;
    }
    const now = this.opts.now();
    let entry = this.entries.get(name) ?? (await this.fromLastKnownGood(name));
    // A refusal of the open breaker is named by the provider error that opened it, as in logs and events.
    const { type, message } = describeProviderFailure(err);
    if (!entry || !this.isServable(entry, now)) {
      if (entry) this.entries.delete(name);
      this.noteNeverLoaded(name, type, message);
      const why = entry
        ? MAX_STALE_REFUSAL
        : this.opts.lastKnownGood
          ? undefined
          : 'no value has been cached since start (last-known-good copies are off: SECRETS_CACHE_KEY is unset)';
      throw unavailable(name, type, why, err);
    }
    const outageBegins = entry.outageSince === undefined;
    entry = {
      ...entry,
      lastError: { type, message, at: now, cause: err, reported: false },
      nextAttemptAt: now + this.opts.errorBackoffMs,
      outageSince: entry.outageSince ?? now,
    };
    this.entries.set(name, entry);
    if (outageBegins) this.outages.begin(name, entry);
    return entry;
  }

  private serveStale(name: string, entry: CacheEntry): ServedSecret {
    const served = this.serve(name, entry, true);
    const err = entry.lastError;
    if (!err) return served;
    const newError = !err.reported;
    const first = !entry.staleAnnounced;
    err.reported = true;
    entry.staleAnnounced = true;
    const report = (firstInOutage: boolean) =>
      this.opts.hooks?.staleServed?.({
        name,
        ageSeconds: served.ageSeconds,
        errorType: err.type,
        error: err.cause,
        newError,
        firstInOutage,
        source: served.source,
      });
    if (first && this.opts.outages) void this.outages.claim(name).then(report);
    else report(first);
    return served;
  }

  private noteNeverLoaded(name: string, type: string, message: string, notFound?: 'evicted' | 'unknown'): void {
    this.neverLoaded.note(name, { type, message, at: this.opts.now() }, notFound);
  }

  private async fromLastKnownGood(name: string): Promise<CacheEntry | undefined> {
    if (!this.opts.lastKnownGood || this.lkgChecked.has(name)) return undefined;
    let secret: StoredSecret | undefined;
    try {
      secret = await this.opts.lastKnownGood.load(name);
    } catch {
      return undefined; // Redis down: ask again on the next failure
    }
    this.lkgChecked.add(name);
    if (!secret) return undefined;
    // Expired on arrival: it only ever answers as a stale value, never as fresh.
    const entry: CacheEntry = { secret: { ...secret, source: 'last-known-good' }, expiresAt: 0, nextAttemptAt: 0 };
    this.entries.set(name, entry);
    return entry;
  }

  private isServable(entry: CacheEntry, now: number): boolean {
    return now - entry.secret.fetchedAt <= this.opts.maxStaleMs;
  }

  private isStale(entry: CacheEntry, now = this.opts.now()): boolean {
    return now >= entry.expiresAt || entry.secret.source === 'last-known-good';
  }

  private serve(name: string, entry: CacheEntry, stale: boolean): ServedSecret {
    const s = entry.secret;
    return {
      name,
      value: s.value,
      ...(s.version ? { version: s.version } : {}),
      ...(s.encoding === 'base64' ? { encoding: 'base64' as const } : {}),
      stale,
      ageSeconds: ageSeconds(this.opts.now(), s.fetchedAt),
      source: s.source,
    };
  }
}

function ageSeconds(now: number, since: number): number {
  return Math.max(0, Math.round((now - since) / 1000));
}

/** Resolves true when `p` has not settled within `ms` (p's own outcome is handled by its other consumers). */
function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = p.then(
    () => false,
    () => false,
  );
  return withTimeout(settled, ms).catch(() => true);
}

function unavailable(name: string, type: string, why: string | undefined, cause: unknown): TransientError {
  const reason = why ?? 'no value has been cached since start and there is no last-known-good copy';
  return new TransientError(`secret "${name}" is unavailable: provider error ${type} and ${reason}`, {
    code: ErrorCode.SECRET_UNAVAILABLE,
    details: { name, type },
    cause,
  });
}
