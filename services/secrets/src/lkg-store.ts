import { errorMessage } from '@vigil/shared';
import type { Redis } from 'ioredis';
import { type CacheKey, open, type SealedRecord, seal } from './lkg-crypto.js';
import type { LastKnownGood, StoredSecret } from './cache-types.js';

export const LKG_KEY_PREFIX = 'vigil:secrets:lkg:';

export interface LkgLogger {
  warn(obj: object, msg: string): void;
}

/**
 * Last-known-good values in Redis, sealed with SECRETS_CACHE_KEY. Redis being down never breaks serving:
 * writes are dropped (logged once per outage), reads answer "nothing".
 */
export class LastKnownGoodStore implements LastKnownGood {
  private redisDownLogged = false;
  private everReady = false;
  /** Sealed records not yet written because Redis was unreachable: written when it is back. */
  private readonly pending = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly key: CacheKey,
    private readonly opts: { maxStaleMs: number; logger: LkgLogger; readyWaitMs?: number },
  ) {
    redis.on('ready', () => {
      this.everReady = true;
      void this.flush();
    });
  }

  private async write(name: string, record: string): Promise<void> {
    if (this.redis.status === 'connecting' || this.redis.status === 'connect' || this.redis.status === 'wait') {
      // Still opening (the first warm runs at start): kept for the 'ready' flush, no "Redis unavailable" noise.
      if (!this.everReady) {
        this.pending.set(name, record);
        return;
      }
    }
    try {
      // Older than the maximum stale age it could never be served, so Redis may forget it.
      await this.redis.set(LKG_KEY_PREFIX + name, record, 'PX', Math.max(1000, this.opts.maxStaleMs));
      if (this.pending.get(name) === record) this.pending.delete(name);
      this.redisDownLogged = false;
    } catch (err) {
      this.pending.set(name, record);
      this.redisFailed('write', err);
    }
  }

  private async flush(): Promise<void> {
    for (const [name, record] of [...this.pending]) await this.write(name, record);
  }

  async save(name: string, secret: StoredSecret): Promise<void> {
    const plain = JSON.stringify({
      value: secret.value,
      version: secret.version,
      encoding: secret.encoding,
      fetchedAt: secret.fetchedAt,
      source: secret.source,
    });
    await this.write(name, JSON.stringify(seal(this.key, name, plain)));
  }

  async forget(name: string): Promise<void> {
    this.pending.delete(name);
    try {
      // Not queued while Redis is away: the caller is answering a request.
      if (this.redis.status !== 'ready') throw new Error(`redis ${this.redis.status}`);
      await this.redis.del(LKG_KEY_PREFIX + name);
    } catch (err) {
      this.opts.logger.warn({ err, name }, 'last-known-good copy of a deleted secret not removed (Redis unavailable)');
    }
  }

  async load(name: string): Promise<StoredSecret | undefined> {
    let raw: string | null;
    // Right after a restart the connection may still be opening: that is exactly when the copy is needed.
    await this.whenReady(this.opts.readyWaitMs ?? 1_500);
    try {
      raw = await this.redis.get(LKG_KEY_PREFIX + name);
    } catch (err) {
      this.redisFailed('read', err);
      throw err;
    }
    if (!raw) return undefined;
    try {
      const data = JSON.parse(open(this.key, name, JSON.parse(raw) as SealedRecord)) as StoredSecret;
      return { ...data, source: 'last-known-good' };
    } catch (err) {
      this.opts.logger.warn(
        { secretName: name, reason: errorMessage(err) },
        'last-known-good copy cannot be opened (other key or tampered) — ignored',
      );
      return undefined;
    }
  }

  private whenReady(ms: number): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.redis.once('ready', done);
    });
  }

  private redisFailed(op: string, err: unknown): void {
    if (this.redisDownLogged) return;
    this.redisDownLogged = true;
    this.opts.logger.warn(
      { op, error: errorMessage(err) },
      'redis unavailable — last-known-good copies are not being stored or read; serving continues',
    );
  }
}
