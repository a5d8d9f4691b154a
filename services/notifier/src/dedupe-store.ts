import { createHash } from 'node:crypto';
import type { KV } from 'nats';
import { applyJson } from './kv-cas.js';
import type { FallbackRecord } from './lost-fallback.js';

/** KV keys allow only these characters; other ids are hashed. */
export function kvSafeKey(id: string): string {
  return /^[-_=a-zA-Z0-9]+$/.test(id) && id.length <= 200 ? id : createHash('sha256').update(id).digest('hex');
}

export type Claim = 'new' | 'done' | 'busy';

interface Entry {
  state: 'claimed' | 'done';
  at: number;
}

const encoder = new TextEncoder();

/**
 * "This event was already notified", shared by replicas and restarts (JetStream KV `vigil_notified`, TTL).
 * A handler claims the event id with a create-only write before sending; the claim becomes `done` after a
 * channel accepted it. A claim left by a crashed replica is taken over after `leaseMs`.
 */
export class DedupeStore {
  constructor(
    private readonly kv: KV,
    private readonly now: () => number,
    // As long as the consumer's ack wait: a replica killed mid-send delays its alerts by at most this much (the
    // chaos test kills one). A send that outlives it (3 slow SMTP attempts behind a busy pool) can be repeated
    // by another replica: a known, rare duplicate, preferred over a late alert.
    private readonly leaseMs = 60_000,
  ) {}

  async claim(eventId: string): Promise<Claim> {
    const key = kvSafeKey(eventId);
    const mine = encoder.encode(JSON.stringify({ state: 'claimed', at: this.now() } satisfies Entry));
    try {
      await this.kv.create(key, mine);
      return 'new';
    } catch {
      const current = await this.kv.get(key);
      if (current?.operation !== 'PUT') {
        try {
          await this.kv.update(key, mine, current?.revision ?? 0);
          return 'new';
        } catch {
          return 'busy';
        }
      }
      const entry = current.json<Entry>();
      if (entry.state === 'done') return 'done';
      if (this.now() - entry.at < this.leaseMs) return 'busy';
      try {
        await this.kv.update(key, mine, current.revision);
        return 'new';
      } catch {
        return 'busy';
      }
    }
  }

  /** True when the event was notified (or recorded in the digest of expired alerts) already. */
  async isDone(eventId: string): Promise<boolean> {
    const e = await this.kv.get(kvSafeKey(eventId));
    return e?.operation === 'PUT' && e.json<Entry>().state === 'done';
  }

  async complete(eventId: string): Promise<void> {
    await this.kv.put(
      kvSafeKey(eventId),
      encoder.encode(JSON.stringify({ state: 'done', at: this.now() } satisfies Entry)),
    );
  }

  /** When the scope (a job, a secrets provider) was last reported recovered: that event's time (ms), if it was within the bucket's TTL. */
  async resolvedAt(scope: string): Promise<number | undefined> {
    return this.readMs(`resolved.${scope}`);
  }

  async markResolved(scope: string, atMs: number): Promise<void> {
    await this.markForward(`resolved.${scope}`, atMs);
  }

  /**
   * When the scope (a job) last recovered from an incident someone had been alerted about (late-alerts.ts), if within
   * the bucket's TTL. A key of its own, not a second field of `resolved.<scope>`, so that a replica of a version from
   * before, which reads that one as a plain number, still understands it during a rolling update.
   */
  async alertedRecoveryAt(scope: string): Promise<number | undefined> {
    return this.readMs(`resolved-alerted.${scope}`);
  }

  async markAlertedRecovery(scope: string, atMs: number): Promise<void> {
    await this.markForward(`resolved-alerted.${scope}`, atMs);
  }

  private async readMs(key: string): Promise<number | undefined> {
    const e = await this.kv.get(kvSafeKey(key));
    if (e?.operation !== 'PUT') return undefined;
    const at = Number(e.string());
    return Number.isFinite(at) ? at : undefined;
  }

  /** Only ever moves forward: a recovery handled late (out of order) never moves the mark back. */
  private async markForward(key: string, atMs: number): Promise<void> {
    const previous = await this.readMs(key);
    if (previous === undefined || atMs > previous) await this.kv.put(kvSafeKey(key), String(atMs));
  }

  /**
   * Compare-and-set on the JSON record `incident.<scope>` (a secrets outage the notifier alerted about, see
   * secrets-incident.ts): `fn` sees the current record and returns the next one (undefined: leave it) and a result;
   * on a concurrent write it runs again on the fresh record.
   */
  async applyIncident<T, R>(
    scope: string,
    fn: (current: T | undefined) => { next?: T; result: R },
    attempts = 20,
  ): Promise<R> {
    return applyJson(this.kv, kvSafeKey(`incident.${scope}`), fn, 'incident', attempts);
  }

  /**
   * What a Slack message of the notifier (webhook id `<notification id>.slack`) was about, written when it is queued:
   * if the webhooks service gives it up, the email about the loss says what it said (lost-fallback.ts).
   */
  async recordFallback(webhookId: string, record: FallbackRecord): Promise<void> {
    await this.kv.put(kvSafeKey(`fallback.${webhookId}`), encoder.encode(JSON.stringify(record)));
  }

  async fallbackRecord(webhookId: string): Promise<FallbackRecord | undefined> {
    const e = await this.kv.get(kvSafeKey(`fallback.${webhookId}`));
    return e?.operation === 'PUT' ? e.json<FallbackRecord>() : undefined;
  }

  /** Gives the claim back so a redelivery can try again at once. */
  async release(eventId: string): Promise<void> {
    await this.kv.delete(kvSafeKey(eventId));
  }
}
