import { retryDelay } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { maxDeliverFor, REDELIVERY_BACKOFF_MS } from '../../src/subscriptions.js';

/** How long the broker keeps redelivering an alert that no channel accepts, before it is dead-lettered. */
function horizonMs(maxDeliver: number): number {
  let total = 0;
  for (let d = 1; d < maxDeliver; d++) total += retryDelay(d, REDELIVERY_BACKOFF_MS);
  return total;
}

describe('an alert nobody could receive', () => {
  it('is retried for as long as it is worth sending (ALERT_MAX_AGE), not dead-lettered after minutes', () => {
    const day = 24 * 3_600_000;
    expect(horizonMs(maxDeliverFor(day))).toBeGreaterThanOrEqual(day);
    expect(horizonMs(maxDeliverFor(day))).toBeLessThan(day + 10 * 60_000);
    expect(horizonMs(maxDeliverFor(3_600_000))).toBeGreaterThanOrEqual(3_600_000);
    // never fewer than a handful of tries, even with a tiny max age
    expect(maxDeliverFor(1)).toBeGreaterThanOrEqual(5);
  });
});
