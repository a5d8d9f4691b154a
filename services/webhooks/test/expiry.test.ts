import { startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhooksConfigSchema } from '../src/config.js';
import { type Harness, startHarness } from './harness.js';

const MAX_AGE_MS = 4_000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    WEBHOOKS_MAX_AGE: `${MAX_AGE_MS}ms`,
    WEBHOOKS_BREAKER_THRESHOLD: '2',
    WEBHOOKS_BREAKER_RESET: '1500ms',
    // plenty of retries: only the age can end these webhooks, as it does behind a breaker that stays open
    WEBHOOKS_MAX_RETRIES: '20',
  });
});
afterAll(async () => {
  await h?.stop();
});

describe('a webhook that cannot be delivered in WEBHOOKS_MAX_AGE', () => {
  it('is dead, announced and dead-lettered instead of waiting until the stream drops it; a replay delivers it', async () => {
    const r = await startHttpReceiver(() => ({ status: 200 }));
    await r.close(); // the destination is down for longer than the max age
    const ids = ['old-1', 'old-2', 'old-3'];
    const sentAt = Date.now();
    for (const id of ids) {
      const res = await h.api('POST', '/api/webhooks', { id, url: r.url, eventType: 't', payload: { id } });
      expect(res.status).toBe(202);
    }

    const dead = await waitFor(() => {
      const d = h.events.of('webhook.dead').filter((e) => ids.includes(e.event.data.id));
      return d.length === ids.length ? d : undefined;
    }, 15_000);
    const diedAfter = Date.now() - sentAt;
    expect(diedAfter).toBeGreaterThanOrEqual(MAX_AGE_MS - 250);
    // announced close to the deadline, not a breaker period or a backoff later
    expect(diedAfter).toBeLessThan(MAX_AGE_MS + 5_000);
    for (const e of dead) {
      expect(e.event.data.error).toMatchObject({
        type: 'VIGIL_E_WEBHOOK_EXPIRED',
        code: 'VIGIL_E_WEBHOOK_EXPIRED',
        class: 'permanent',
      });
      expect(e.event.data.lastError).toContain('WEBHOOKS_MAX_AGE');
    }
    for (const id of ids) {
      const status = (await h.api('GET', `/api/webhooks/${id}`)).body;
      expect(status).toMatchObject({ id, status: 'dead' });
      expect(status.lastError).toContain('not delivered within 4 s');
    }
    const dlq = await waitFor(async () => {
      const list = (await h.api('GET', '/api/dlq?subject=webhook.send')).body.entries as {
        seq: number;
        errorCode?: string;
        data: { data: { id: string } };
      }[];
      const ours = list.filter((e) => ids.includes(e.data.data.id));
      return ours.length === ids.length ? ours : undefined;
    }, 10_000);
    expect(dlq.every((e) => e.errorCode === 'VIGIL_E_WEBHOOK_EXPIRED')).toBe(true);

    // the destination is back: a replay starts a fresh age, and the webhook arrives
    await r.start();
    const replay = await h.api('POST', `/api/dlq/${dlq[0].seq}/replay`);
    expect(replay.status).toBe(202);
    const replayedId = dlq[0].data.data.id;
    await waitFor(async () => (await h.api('GET', `/api/webhooks/${replayedId}`)).body.status === 'delivered', 15_000);
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([replayedId]);
    await r.close();
  });
});

describe('WEBHOOKS_MAX_AGE', () => {
  it('defaults to 3 days and must end before the stream drops the message (7 days)', () => {
    const parse = (v?: string) => webhooksConfigSchema.safeParse(v === undefined ? {} : { WEBHOOKS_MAX_AGE: v });
    expect(parse().data?.WEBHOOKS_MAX_AGE).toBe(3 * 86_400_000);
    expect(parse('6d').data?.WEBHOOKS_MAX_AGE).toBe(6 * 86_400_000);
    for (const bad of ['7d', '0s', '500ms']) {
      const r = parse(bad);
      expect(r.success, bad).toBe(false);
      expect(r.error?.issues[0].message).toContain('between 1s and 6d');
    }
  });
});
