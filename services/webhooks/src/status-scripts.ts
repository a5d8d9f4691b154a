import { RETAINED_TTL_SECONDS } from './status-model.js';

/**
 * The status store's Lua scripts: each status change is one atomic step in Redis (read, decide, write, TTL,
 * index), so replicas racing on one webhook id never interleave. KEYS and ARGV are documented per script.
 */

// Drops index entries older than the longest status TTL (their hashes are gone): the index must not grow forever.
const TRIM = `redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2] - RETAINED_MS)`;

// Releases the in-flight lease when this delivery (ARGV owner) still holds it.
const release = (owner: string) => `
if redis.call('HGET', KEYS[1], 'inflightOwner') == ${owner} then
  redis.call('HDEL', KEYS[1], 'inflightUntil', 'inflightOwner')
end`;

// Creates the hash if absent (intake); returns the current status ('delivered' when only the id-only marker of a
// delivered webhook is left). KEYS: hash, index, delivered marker. ARGV: id, now, url, type, ttl
export const CREATE = `
local RETAINED_MS = ${RETAINED_TTL_SECONDS * 1000}
local s = redis.call('HGET', KEYS[1], 'status')
if s then return s end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'delivered' end
redis.call('HSET', KEYS[1], 'status', 'pending', 'attempts', 0, 'createdAt', ARGV[2], 'updatedAt', ARGV[2], 'url', ARGV[3], 'eventType', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
${TRIM}
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 'new'`;

// Starts one HTTP attempt unless the webhook is already settled or another delivery holds its in-flight lease;
// one round trip on the hot path. Returns { status, attempts, leaseUntil? } (status 'busy': lease held elsewhere).
// KEYS: hash, index, delivered marker. ARGV: id, now, url, type, ttl, createdAt,
// replaySeq (stream seq of a replayed dead letter, '' when not a replay), leaseUntil, owner
export const BEGIN = `
local RETAINED_MS = ${RETAINED_TTL_SECONDS * 1000}
local s = redis.call('HGET', KEYS[1], 'status')
if not s and redis.call('EXISTS', KEYS[3]) == 1 then return { 'delivered', 0 } end
-- A replay brings a dead webhook back once: a redelivery of the same replayed message (same seq) does not.
-- Only 'dead': a delivered one (hash or marker) stays delivered, whoever replays it and however often.
if s == 'dead' and ARGV[7] ~= '' and redis.call('HGET', KEYS[1], 'replayedSeq') ~= ARGV[7] then
  redis.call('HSET', KEYS[1], 'attempts', 0, 'replayedAt', ARGV[2])
  redis.call('HDEL', KEYS[1], 'deadAt', 'deadNotified', 'lastError', 'lastStatusCode')
  s = 'pending'
end
if s == 'delivered' or s == 'dead' then
  return { s, tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') }
end
local lease = tonumber(redis.call('HGET', KEYS[1], 'inflightUntil') or '0')
if lease > tonumber(ARGV[2]) and redis.call('HGET', KEYS[1], 'inflightOwner') ~= ARGV[9] then
  return { 'busy', tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0'), lease }
end
if not s then
  redis.call('HSET', KEYS[1], 'createdAt', ARGV[6], 'url', ARGV[3], 'eventType', ARGV[4])
  ${TRIM}
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'replayedSeq', ARGV[7]) end
local a = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'pending', 'lastAttemptAt', ARGV[2], 'updatedAt', ARGV[2], 'inflightUntil', ARGV[8], 'inflightOwner', ARGV[9])
redis.call('HSETNX', KEYS[1], 'firstAttemptAt', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return { 'pending', a }`;

// Settles a delivered webhook in one command, and keeps an id-only marker for the stream retention so a repeat
// of the id is never sent again after the status hash expired. KEYS: hash, marker.
// ARGV: statusCode, durationMs, now, ttl, markerTtl
export const DELIVERED = `
redis.call('HSET', KEYS[1], 'status', 'delivered', 'lastStatusCode', ARGV[1], 'lastDurationMs', ARGV[2], 'deliveredAt', ARGV[3], 'updatedAt', ARGV[3])
redis.call('HDEL', KEYS[1], 'nextAttemptAt', 'inflightUntil', 'inflightOwner')
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[5])
return 1`;

// A failed attempt. ARGV: status, lastStatusCode, lastError, lastDurationMs, now, nextAttemptAt ('' = none), ttl, owner
export const FAILED = `
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'lastStatusCode', ARGV[2], 'lastError', ARGV[3], 'lastDurationMs', ARGV[4], 'updatedAt', ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'nextAttemptAt', ARGV[6]) end
if ARGV[1] == 'dead' then redis.call('HSET', KEYS[1], 'deadAt', ARGV[5]) end
${release('ARGV[8]')}
redis.call('EXPIRE', KEYS[1], ARGV[7])
return 1`;

// The webhook.dead of this death (ARGV deadAt) is out: a later delivery of the id need not announce it again.
// Stores the deadAt it announced, only while the hash still records that death (never creates a bare hash).
// ARGV: deadAt
export const DEAD_NOTIFIED = `
if redis.call('HGET', KEYS[1], 'status') == 'dead' and redis.call('HGET', KEYS[1], 'deadAt') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'deadNotified', ARGV[1])
end
return 1`;

// Notes that the webhook waits parked for its destination's breaker (shown until its next attempt). Only on a hash
// that is still waiting: a parked copy never revives a settled or expired status. ARGV: now, why
export const PARKED = `
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'pending' or s == 'failed' then
  redis.call('HSET', KEYS[1], 'parkedAt', ARGV[1], 'parkedFor', ARGV[2])
end
return 1`;

// Takes back an attempt that never reached the network. ARGV: owner
export const UNDO = `
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
${release('ARGV[1]')}
return 1`;
