import type { Redis } from 'ioredis';
import {
  cleanupAction,
  DELIVERED_MARKER_TTL_SECONDS,
  DELIVERED_TTL_SECONDS,
  deliveredKey,
  fromHash,
  INDEX_KEY,
  RETAINED_TTL_SECONDS,
  STATUS_KEY_PREFIX,
  statusKey,
  type WebhookState,
  type WebhookStatus,
} from './status-model.js';

import { BEGIN, CREATE, DEAD_NOTIFIED, DELIVERED, FAILED, PARKED, UNDO } from './status-scripts.js';

type Script = (...args: (string | number)[]) => Promise<unknown>;

/** KEYS (hash, index, delivered marker) and the first ARGV (id, now, url, type, ttl) that CREATE and BEGIN share. */
function intakeArgs(id: string, nowMs: number, url: string, eventType: string): (string | number)[] {
  return [statusKey(id), INDEX_KEY, deliveredKey(id), id, nowMs, url, eventType, RETAINED_TTL_SECONDS];
}

/** ZREMRANGEBYSCORE bound: index entries older than the longest status TTL (their hashes are gone). */
const staleBefore = (nowMs: number) => `(${nowMs - RETAINED_TTL_SECONDS * 1000}`;

export interface AttemptRecord {
  statusCode?: number;
  error?: string;
  durationMs: number;
}

export interface DeadNotice {
  /** deadAt as stored (epoch ms text): names this death in the webhook.dead msg id. */
  deadAt: string;
  notified: boolean;
  attempts: number;
  lastError: string;
  lastStatusCode?: number;
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
  private readonly failed: Script;
  private readonly undo: Script;
  private readonly deadNotified: Script;
  private readonly parked: Script;

  constructor(private readonly redis: Redis) {
    redis.defineCommand('vigilWebhookCreate', { numberOfKeys: 3, lua: CREATE });
    redis.defineCommand('vigilWebhookBegin', { numberOfKeys: 3, lua: BEGIN });
    redis.defineCommand('vigilWebhookDelivered', { numberOfKeys: 2, lua: DELIVERED });
    redis.defineCommand('vigilWebhookFailed', { numberOfKeys: 1, lua: FAILED });
    redis.defineCommand('vigilWebhookUndo', { numberOfKeys: 1, lua: UNDO });
    redis.defineCommand('vigilWebhookDeadNotified', { numberOfKeys: 1, lua: DEAD_NOTIFIED });
    redis.defineCommand('vigilWebhookParked', { numberOfKeys: 1, lua: PARKED });
    const r = redis as unknown as Record<string, Script>;
    this.create = r.vigilWebhookCreate.bind(redis);
    this.begin = r.vigilWebhookBegin.bind(redis);
    this.delivered = r.vigilWebhookDelivered.bind(redis);
    this.failed = r.vigilWebhookFailed.bind(redis);
    this.undo = r.vigilWebhookUndo.bind(redis);
    this.deadNotified = r.vigilWebhookDeadNotified.bind(redis);
    this.parked = r.vigilWebhookParked.bind(redis);
  }

  /** Records a new webhook as pending; returns its existing status when the id is already known. */
  async register(id: string, url: string, eventType: string, nowMs: number): Promise<WebhookState | 'new'> {
    const s = await this.create(...intakeArgs(id, nowMs, url, eventType));
    return s as WebhookState | 'new';
  }

  /**
   * Counts one HTTP attempt and takes the in-flight lease (until `lease.until`, for `lease.owner`), or tells that
   * the webhook is already delivered/dead, or `busy` when another delivery holds a live lease (it may be POSTing
   * right now: this one must wait). `replaySeq` (the stream seq of a dead letter published again, e.g. by
   * `vigil dlq replay`) brings a dead webhook back with a fresh attempt count, once per replayed message.
   */
  async beginAttempt(
    id: string,
    url: string,
    eventType: string,
    createdAtMs: number,
    nowMs: number,
    lease: { until: number; owner: string },
    replaySeq?: number,
  ): Promise<{ status: WebhookState | 'busy'; attempts: number; leaseUntil?: number }> {
    const [status, attempts, leaseUntil] = (await this.begin(
      ...intakeArgs(id, nowMs, url, eventType),
      createdAtMs,
      replaySeq === undefined ? '' : String(replaySeq),
      lease.until,
      lease.owner,
    )) as [WebhookState | 'busy', number, number | undefined];
    return leaseUntil === undefined ? { status, attempts } : { status, attempts, leaseUntil };
  }

  /** Takes back an attempt that never reached the network (breaker rejected it after beginAttempt). */
  async undoAttempt(id: string, owner: string): Promise<void> {
    await this.undo(statusKey(id), owner);
  }

  async markDelivered(id: string, rec: AttemptRecord, nowMs: number): Promise<void> {
    await this.delivered(
      statusKey(id),
      deliveredKey(id),
      rec.statusCode ?? '',
      Math.round(rec.durationMs),
      nowMs,
      DELIVERED_TTL_SECONDS,
      DELIVERED_MARKER_TTL_SECONDS,
    );
  }

  /** A failed attempt: `failed` with the next attempt time when a retry follows, `dead` when not. */
  async markFailed(
    id: string,
    state: 'failed' | 'dead',
    rec: AttemptRecord,
    nowMs: number,
    nextAttemptAtMs: number | undefined,
    owner: string,
  ): Promise<void> {
    await this.failed(
      statusKey(id),
      state,
      rec.statusCode ?? '',
      (rec.error ?? '').slice(0, 500),
      Math.round(rec.durationMs),
      nowMs,
      nextAttemptAtMs ?? '',
      RETAINED_TTL_SECONDS,
      owner,
    );
  }

  /**
   * What a delivery that finds the webhook `dead` needs to announce it: undefined unless the status is `dead`.
   * `notified`: the webhook.dead of this death (deadAt) was published.
   */
  async deadNotice(id: string): Promise<DeadNotice | undefined> {
    const [status, deadAt, notifiedFor, attempts, lastError, lastStatusCode] = await this.redis.hmget(
      statusKey(id),
      'status',
      'deadAt',
      'deadNotified',
      'attempts',
      'lastError',
      'lastStatusCode',
    );
    if (status !== 'dead') return undefined;
    const code = Number(lastStatusCode);
    return {
      deadAt: deadAt ?? '',
      notified: !!deadAt && notifiedFor === deadAt,
      attempts: Number(attempts) || 0,
      lastError: lastError || 'dead',
      ...(lastStatusCode && Number.isInteger(code) ? { lastStatusCode: code } : {}),
    };
  }

  /** Records that the webhook.dead of the death at `deadAt` is published (no-op once replayed or gone). */
  /** The webhook waits parked for its destination's breaker (`why`), from nowMs until its next attempt. */
  async markParked(id: string, why: string, nowMs: number): Promise<void> {
    await this.parked(statusKey(id), String(nowMs), why.slice(0, 300));
  }

  async markDeadNotified(id: string, deadAt: string | number): Promise<void> {
    await this.deadNotified(statusKey(id), String(deadAt));
  }

  /** The status, or 'delivered' when only the id-only marker of a delivered webhook is left. */
  async knownState(id: string): Promise<WebhookState | undefined> {
    const [[, status], [, marker]] = ((await this.redis
      .multi()
      .hget(statusKey(id), 'status')
      .exists(deliveredKey(id))
      .exec()) ?? [
      [null, null],
      [null, 0],
    ]) as [[unknown, string | null], [unknown, number]];
    if (status) return status as WebhookState;
    return marker === 1 ? 'delivered' : undefined;
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
      .zremrangebyscore(INDEX_KEY, '-inf', staleBefore(nowMs))
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
