import { describe, expect, it } from 'vitest';
import { newEventId, retryDelay, subjectMatches, TransientError } from '@vigil/shared';

describe('event ids', () => {
  it('are ULIDs: 26 Crockford chars, unique, sortable by creation time', () => {
    const ids = Array.from({ length: 5_000 }, () => newEventId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 50)) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const early = newEventId();
    const later = (() => {
      const until = Date.now() + 3;
      while (Date.now() < until) {
        // spin a few ms so the time part differs
      }
      return newEventId();
    })();
    expect(later.slice(0, 10) > early.slice(0, 10)).toBe(true);
  });
});

describe('retryDelay', () => {
  it('follows backoffMs by delivery, repeating the last step', () => {
    expect(retryDelay(1, [100, 500])).toBe(100);
    expect(retryDelay(2, [100, 500])).toBe(500);
    expect(retryDelay(7, [100, 500])).toBe(500);
  });

  it('grows exponentially from 1 s to a 60 s cap by default, and honours Retry-After', () => {
    expect([1, 2, 3, 4].map((d) => retryDelay(d, undefined))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelay(20, undefined)).toBe(60_000);
    expect(retryDelay(1, [100], new TransientError('429', { retryAfterMs: 5_000 }))).toBe(5_000);
  });
});

describe('subjectMatches', () => {
  it('matches NATS wildcards', () => {
    expect(subjectMatches('job.>', 'job.failed.daily')).toBe(true);
    expect(subjectMatches('job.*.daily', 'job.failed.daily')).toBe(true);
    expect(subjectMatches('job.*', 'job.failed.daily')).toBe(false);
    expect(subjectMatches('job.>', 'job')).toBe(false);
    expect(subjectMatches('webhook.send', 'webhook.send')).toBe(true);
  });
});
