import type { Redis } from 'ioredis';
import {
  cleanupAction,
  DELIVERED_TTL_SECONDS,
  fromHash,
  INDEX_KEY,
  RETAINED_TTL_SECONDS,
  STATUS_KEY_PREFIX,
  statusKey,
  type WebhookState,
  type WebhookStatus,
} from './status-model.js';

// Creates the hash if absent (intake); returns the current status. KEYS: hash, index. ARGV: id, now, url, type, ttl
const CREATE = `
local s = redis.call('HGET', KEYS[1], 'status')
if s then return s end
redis.call('HSET', KEYS[1], 'status', 'pending', 'attempts', 0, 'createdAt', ARGV[2], 'updatedAt', ARGV[2], 'url', ARGV[3], 'eventType', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 'new'`;

// Starts one HTTP attempt unless the webhook is already settled; one round trip on the hot path.
// Returns { status, attempts }. ARGV: id, now, url, type, ttl, createdAt, replay ('1': a dead letter replayed)
const BEGIN = `
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'dead' and ARGV[7] == '1' then
  redis.call('HSET', KEYS[1], 'attempts', 0, 'replayedAt', ARGV[2])
  redis.call('HDEL', KEYS[1], 'deadAt', 'lastError', 'lastStatusCode')
  s = 'pending'
end
if s == 'delivered' or s == 'dead' then
  return { s, tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') }
end
if not s then
  redis.call('HSET', KEYS[1], 'createdAt', ARGV[6], 'url', ARGV[3], 'eventType', ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
end
local a = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'pending', 'lastAttemptAt', ARGV[2], 'updatedAt', ARGV[2])
redis.call('HSETNX', KEYS[1], 'firstAttemptAt', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return { 'pending', a }`;

// Settles a delivered webhook in one command. ARGV: statusCode, durationMs, now, ttl
const DELIVERED = `
redis.call('HSET', KEYS[1], 'status', 'delivered', 'lastStatusCode', ARGV[1], 'lastDurationMs', ARGV[2], 'deliveredAt', ARGV[3], 'updatedAt', ARGV[3])
redis.call('HDEL', KEYS[1], 'nextAttemptAt')
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1`;

type Script = (...args: (string | number)[]) => Promise<unknown>;

export interface AttemptRecord {
  statusCode?: number;
  error?: string;
  durationMs: number;
}

export interface CleanupReport {
  scanned: number;
  ttlRepaired: number;
  removedExpired: number;
  removedMalformed: number;
  indexOrphansRemoved: number;
}

/** Webhook status in Redis (seed 004: never in memory), with the TTLs of status-model. */
export class StatusStore {
  private readonly create: Script;
  private readonly begin: Script;
  private readonly delivered: Script;

  constructor(private readonly redis: Redis) {
    redis.defineCommand('vigilWebhookCreate', { numberOfKeys: 2, lua: CREATE });
    redis.defineCommand('vigilWebhookBegin', { numberOfKeys: 2, lua: BEGIN });
    redis.defineCommand('vigilWebhookDelivered', { numberOfKeys: 1, lua: DELIVERED });
    const r = redis as unknown as Record<string, Script>;
    this.create = r.vigilWebhookCreate.bind(redis);
    this.begin = r.vigilWebhookBegin.bind(redis);
    this.delivered = r.vigilWebhookDelivered.bind(redis);
  }

  /** Records a new webhook as pending; returns its existing status when the id is already known. */
  async register(id: string, url: string, eventType: string, nowMs: number): Promise<WebhookState | 'new'> {
    const s = await this.create(statusKey(id), INDEX_KEY, id, nowMs, url, eventType, RETAINED_TTL_SECONDS);
    return s as WebhookState | 'new';
  }

  /**
   * Counts one HTTP attempt, or tells that the webhook is already delivered/dead. `replay` (a dead letter
   * published again, e.g. by `vigil dlq replay`) brings a dead webhook back with a fresh attempt count.
   */
  async beginAttempt(
    id: string,
    url: string,
    eventType: string,
    createdAtMs: number,
    nowMs: number,
    replay = false,
  ): Promise<{ status: WebhookState; attempts: number }> {
    const [status, attempts] = (await this.begin(
      statusKey(id),
      INDEX_KEY,
      id,
      nowMs,
      url,
      eventType,
      RETAINED_TTL_SECONDS,
      createdAtMs,
      replay ? '1' : '0',
    )) as [WebhookState, number];
    return { status, attempts };
  }

  /** Takes back an attempt that never reached the network (breaker rejected it after beginAttempt). */
  async undoAttempt(id: string): Promise<void> {
    await this.redis.hincrby(statusKey(id), 'attempts', -1);
  }

  async markDelivered(id: string, rec: AttemptRecord, nowMs: number): Promise<void> {
    await this.delivered(statusKey(id), rec.statusCode ?? '', Math.round(rec.durationMs), nowMs, DELIVERED_TTL_SECONDS);
  }

  /** A failed attempt: `failed` with the next attempt time when a retry follows, `dead` when not. */
  async markFailed(
    id: string,
    state: 'failed' | 'dead',
    rec: AttemptRecord,
    nowMs: number,
    nextAttemptAtMs?: number,
  ): Promise<void> {
    const fields: Record<string, string | number> = {
      status: state,
      lastStatusCode: rec.statusCode ?? '',
      lastError: (rec.error ?? '').slice(0, 500),
      lastDurationMs: Math.round(rec.durationMs),
      updatedAt: nowMs,
    };
    if (nextAttemptAtMs !== undefined) fields.nextAttemptAt = nextAttemptAtMs;
    if (state === 'dead') fields.deadAt = nowMs;
    await this.redis.multi().hset(statusKey(id), fields).expire(statusKey(id), RETAINED_TTL_SECONDS).exec();
  }

  /** A failure before any HTTP attempt (e.g. no signing key): dead, attempts unchanged. */
  async markDeadWithoutAttempt(
    id: string,
    error: string,
    nowMs: number,
    url: string,
    eventType: string,
  ): Promise<void> {
    await this.redis
      .multi()
      .hsetnx(statusKey(id), 'createdAt', nowMs)
      .hsetnx(statusKey(id), 'attempts', 0)
      .hset(statusKey(id), {
        status: 'dead',
        url,
        eventType,
        lastError: error.slice(0, 500),
        deadAt: nowMs,
        updatedAt: nowMs,
      })
      .expire(statusKey(id), RETAINED_TTL_SECONDS)
      .zadd(INDEX_KEY, nowMs, id)
      .exec();
  }

  /** Replay starts over: pending, no attempts, so the same id is neither skipped nor dead-lettered again. */
  async reset(id: string, nowMs: number): Promise<void> {
    await this.redis
      .multi()
      .hset(statusKey(id), { status: 'pending', attempts: 0, updatedAt: nowMs, replayedAt: nowMs })
      .hdel(statusKey(id), 'deliveredAt', 'deadAt', 'nextAttemptAt', 'lastError', 'lastStatusCode')
      .expire(statusKey(id), RETAINED_TTL_SECONDS)
      .zadd(INDEX_KEY, nowMs, id)
      .exec();
  }

  async get(id: string): Promise<WebhookStatus | undefined> {
    const h = await this.redis.hgetall(statusKey(id));
    return Object.keys(h).length === 0 ? undefined : fromHash(id, h);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** Removes what TTLs cannot: hashes that lost their TTL, malformed hashes, index entries whose hash is gone. */
  async cleanup(nowMs: number): Promise<CleanupReport> {
    const report: CleanupReport = {
      scanned: 0,
      ttlRepaired: 0,
      removedExpired: 0,
      removedMalformed: 0,
      indexOrphansRemoved: 0,
    };
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${STATUS_KEY_PREFIX}*`, 'COUNT', 500);
      cursor = next;
      const hashes = keys.filter((k) => k !== INDEX_KEY);
      if (hashes.length === 0) continue;
      const pipe = this.redis.pipeline();
      for (const k of hashes) pipe.type(k).ttl(k).hgetall(k);
      const res = (await pipe.exec()) ?? [];
      const fix = this.redis.pipeline();
      hashes.forEach((key, i) => {
        const type = res[i * 3]?.[1] as string;
        const ttl = res[i * 3 + 1]?.[1] as number;
        const h = (res[i * 3 + 2]?.[1] ?? {}) as Record<string, string>;
        if (type !== 'hash') return;
        report.scanned++;
        const action = cleanupAction(h, ttl, nowMs);
        if (action.kind === 'expire') {
          fix.expire(key, action.seconds);
          report.ttlRepaired++;
        } else if (action.kind === 'delete') {
          fix.del(key);
          if (action.why === 'malformed') report.removedMalformed++;
          else report.removedExpired++;
        }
      });
      if (fix.length > 0) await fix.exec();
    } while (cursor !== '0');

    let zcursor = '0';
    do {
      const [next, flat] = await this.redis.zscan(INDEX_KEY, zcursor, 'COUNT', 500);
      zcursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length === 0) continue;
      const pipe = this.redis.pipeline();
      for (const id of ids) pipe.exists(statusKey(id));
      const res = (await pipe.exec()) ?? [];
      const gone = ids.filter((_, i) => res[i]?.[1] === 0);
      if (gone.length > 0) {
        await this.redis.zrem(INDEX_KEY, ...gone);
        report.indexOrphansRemoved += gone.length;
      }
    } while (zcursor !== '0');
    return report;
  }
}
