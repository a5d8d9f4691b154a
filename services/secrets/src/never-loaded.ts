import type { SecretStatus } from './cache-types.js';

/** The last failure of a secret with no value here: shown by status. */
interface NeverLoaded {
  type: string;
  message: string;
  at: number;
  /** The provider says it does not exist. */
  notFound?: true;
  /** It had a value here before the provider said so (a deleted secret, not a wrong name). */
  evicted?: boolean;
}

/** Bounded: names come from requests, and a typo loop must not grow memory. */
const MAX_NAMES = 1000;

/**
 * Secrets that have no value in the cache, with their last failure, so `secrets.status` lists them: a configured
 * secret the provider fails for, or one deleted at the provider. A name nobody configured that the provider does not
 * have (a caller's typo) is forgotten, not listed.
 */
export class NeverLoadedSecrets {
  private readonly byName = new Map<string, NeverLoaded>();
  /** The names the configuration asks for (what the warmer warms). */
  private configured = new Set<string>();

  note(name: string, failure: { type: string; message: string; at: number }, notFound?: 'evicted' | 'unknown'): void {
    this.byName.delete(name);
    if (this.byName.size >= MAX_NAMES) this.byName.delete(this.byName.keys().next().value as string);
    this.byName.set(name, {
      ...failure,
      ...(notFound ? { notFound: true as const, evicted: notFound === 'evicted' } : {}),
    });
  }

  /** A value arrived: nothing to list any more. */
  loaded(name: string): void {
    this.byName.delete(name);
  }

  /** It had a value here before the provider said it does not exist. */
  wasEvicted(name: string): boolean {
    return this.byName.get(name)?.evicted === true;
  }

  setConfigured(names: Iterable<string>): void {
    this.configured = new Set(names);
    for (const [name, e] of this.byName) if (this.isTypo(name, e)) this.byName.delete(name);
  }

  /** Status rows of the names without a value, but those `cached` names (which have one). */
  rows(cached: (name: string) => boolean): SecretStatus[] {
    const rows: SecretStatus[] = [];
    for (const [name, e] of this.byName) {
      if (cached(name) || this.isTypo(name, e)) continue;
      rows.push({
        name,
        cached: false,
        ageSeconds: null,
        source: null,
        // Nothing is served for it: not stale. One the provider does not have is named so (it answers 404).
        stale: !e.notFound,
        ...(e.notFound ? { notFound: true } : {}),
        lastError: errorView(e),
        expiresInSeconds: 0,
      });
    }
    return rows;
  }

  /** Not found, never had a value here, and nobody configured it: a request's wrong name, not a secret to list. */
  private isTypo(name: string, e: NeverLoaded): boolean {
    return e.notFound === true && !e.evicted && !this.configured.has(name);
  }
}

/** A failure as `secrets.status` shows it (its time as ISO 8601). */
export function errorView(e: { type: string; message: string; at: number }) {
  return { type: e.type, message: e.message, at: new Date(e.at).toISOString() };
}
