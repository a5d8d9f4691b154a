import { makeEnvelope } from '@vigil/shared';
import { type HttpReceiver, startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, SECRET, startHarness } from './harness.js';

let h: Harness;
const receivers: HttpReceiver[] = [];

async function receiver(plan: (i: number) => { status: number; headers?: Record<string, string> }) {
  const r = await startHttpReceiver((_req, i) => plan(i));
  receivers.push(r);
  return r;
}

const statusOf = async (id: string) => (await h.api('GET', `/api/webhooks/${id}`)).body;

beforeAll(async () => {
  // random() = 0.999: full jitter at its ceiling, so the growth of the backoff is visible.
  h = await startHarness({}, { random: () => 0.999 });
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});
afterAll(async () => {
  await h?.stop();
});

describe('webhook delivery (real NATS, Redis, HTTP receiver)', () => {
  it('503, 503, 200: delivered on attempt 3 with growing delays and a valid signature on every attempt', async () => {
    const r = await receiver((i) => ({ status: i < 2 ? 503 : 200 }));
    const res = await h.api('POST', '/api/webhooks', {
      id: 'wh-retry-1',
      url: `${r.url}/hook?x=1`,
      eventType: 'job.failed',
      payload: { job: 'daily', n: 1 },
    });
    expect(res).toMatchObject({ status: 202, body: { id: 'wh-retry-1' } });

    const delivered = await h.events.waitFor('webhook.delivered', 1, 15_000);
    expect(delivered[0].event.data).toMatchObject({ id: 'wh-retry-1', attempt: 3, status: 200 });
    expect(r.requests).toHaveLength(3);
    // The scheduled delays grow (exponential backoff; jitter pinned at its ceiling), and each was waited out.
    const failed = h.events.of('webhook.attempt-failed').filter((e) => e.event.data.id === 'wh-retry-1');
    const delays = failed.map((e) => Date.parse(e.event.data.nextAttemptAt) - Date.parse(e.event.data.at));
    expect(delays).toEqual([100, 200]);
    const gaps = [r.requests[1].at - r.requests[0].at, r.requests[2].at - r.requests[1].at];
    expect(gaps[0]).toBeGreaterThanOrEqual(delays[0] - 5);
    expect(gaps[1]).toBeGreaterThanOrEqual(delays[1] - 5);

    const wh = new Webhook(SECRET);
    for (const req of r.requests) {
      expect(req.headers['webhook-id']).toBe('wh-retry-1');
      const verified = wh.verify(req.body, req.headers as Record<string, string>);
      expect(verified).toMatchObject({ type: 'job.failed', data: { job: 'daily', n: 1 } });
      expect(req.url).toBe('/hook?x=1');
    }
    // the same bytes on every attempt: a receiver can dedupe on webhook-id and verify each one
    expect(new Set(r.requests.map((q) => q.body)).size).toBe(1);
    expect(failed).toHaveLength(2);

    const status = await statusOf('wh-retry-1');
    expect(status).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200 });
    const ttl = await h.redis.ttl('vigil:webhook:wh-retry-1');
    expect(ttl).toBeGreaterThan(1790);
    expect(ttl).toBeLessThanOrEqual(1800);
  });

  it('400: no retry, dead, one dead letter with the full request; replay re-sends with the same id', async () => {
    let answer = 400;
    const r = await receiver(() => ({ status: answer }));
    await h.api('POST', '/api/webhooks', { id: 'wh-400', url: r.url, eventType: 't', payload: { big: 'request' } });
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'wh-400'));
    expect(dead.event.data).toMatchObject({ id: 'wh-400', attempts: 1, status: 400, lastError: 'HTTP 400' });
    expect(await statusOf('wh-400')).toMatchObject({ status: 'dead', attempts: 1, lastStatusCode: 400 });
    const ttl = await h.redis.ttl('vigil:webhook:wh-400');
    expect(ttl).toBeGreaterThan(604_790);

    const dlq = await waitFor(async () => {
      const list = await h.api('GET', '/api/dlq?subject=webhook.send');
      return list.body.entries.filter((e: any) => e.data?.data?.id === 'wh-400');
    });
    expect(dlq).toHaveLength(1);
    expect(dlq[0].data.data).toMatchObject({ id: 'wh-400', url: r.url, eventType: 't', payload: { big: 'request' } });
    expect(r.requests).toHaveLength(1);

    answer = 200;
    const depth = await h.service.runtime.bus.dlqDepth();
    const replay = await h.api('POST', `/api/dlq/${dlq[0].seq}/replay`);
    expect(replay).toMatchObject({
      status: 202,
      body: { seq: dlq[0].seq, subject: 'webhook.send', id: 'wh-400', replayed: true, duplicate: false, removed: true },
    });
    await waitFor(() => h.events.of('webhook.delivered').find((e) => e.event.data.id === 'wh-400'));
    expect(r.requests).toHaveLength(2);
    expect(r.requests[1].headers['webhook-id']).toBe('wh-400');
    expect(await statusOf('wh-400')).toMatchObject({ status: 'delivered', attempts: 1 });

    // re-driven: the dead letter left the DLQ (health counts one fewer)
    const listed = (await h.api('GET', '/api/dlq?subject=webhook.send')).body.entries.map((e: any) => e.seq);
    expect(listed).not.toContain(dlq[0].seq);
    expect(await h.service.runtime.bus.dlqDepth()).toBe(depth - 1);
    // the same entry again, over HTTP or as `vigil dlq replay` does: not found, and the webhook is left alone
    const again = await h.api('POST', `/api/dlq/${dlq[0].seq}/replay`);
    expect(again).toMatchObject({ status: 404, body: { error: { code: 'VIGIL_E_DLQ_MESSAGE_NOT_FOUND' } } });
    await expect(h.service.runtime.bus.replayDlq(dlq[0].seq)).rejects.toMatchObject({
      code: 'VIGIL_E_DLQ_MESSAGE_NOT_FOUND',
    });
    expect(r.requests).toHaveLength(2);
    expect(await statusOf('wh-400')).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await h.redis.exists('vigil:webhook-delivered:wh-400')).toBe(1);
  });

  it('retries used up on a 503: dead, but its error stays transient (a replay may well work later)', async () => {
    const r = await receiver(() => ({ status: 503 }));
    await h.api('POST', '/api/webhooks', { id: 'wh-503', url: r.url, eventType: 't', payload: {} });
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'wh-503'), 15_000);
    expect(dead.event.data).toMatchObject({ attempts: 4, status: 503 });
    expect(dead.event.data.error).toMatchObject({ class: 'transient', message: 'HTTP 503' });
    expect(r.requests).toHaveLength(4);
  });

  it('a dead letter replayed straight through NATS (as `vigil dlq replay` does) is re-sent with the same id', async () => {
    let answer = 410;
    const r = await receiver(() => ({ status: answer }));
    await h.api('POST', '/api/webhooks', { id: 'wh-cli-replay', url: r.url, eventType: 't', payload: {} });
    await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'wh-cli-replay'));
    const entry = await waitFor(async () =>
      (await h.service.runtime.bus.listDlq({ subject: 'webhook.send' })).find(
        (e: any) => e.data?.data?.id === 'wh-cli-replay',
      ),
    );
    answer = 200;
    expect(await h.service.runtime.bus.replayDlq(entry.seq)).toMatchObject({ subject: 'webhook.send', removed: true });
    await waitFor(() => h.events.of('webhook.delivered').find((e) => e.event.data.id === 'wh-cli-replay'));
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual(['wh-cli-replay', 'wh-cli-replay']);
    expect(await statusOf('wh-cli-replay')).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('an oversized webhook.send event is dead on arrival: webhook.dead and a dead letter, nothing sent', async () => {
    const r = await receiver(() => ({ status: 200 }));
    const payload = { blob: 'y'.repeat(300 * 1024) };
    await h.service.runtime.bus.publish('webhook.send', { id: 'wh-huge', url: r.url, eventType: 't', payload });
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'wh-huge'));
    expect(dead.event.data.error).toMatchObject({ code: 'VIGIL_E_WEBHOOK_PAYLOAD_TOO_LARGE', class: 'validation' });
    await waitFor(async () =>
      (await h.service.runtime.bus.listDlq({ subject: 'webhook.send' })).find(
        (e: any) => e.data?.data?.id === 'wh-huge',
      ),
    );
    expect(r.requests).toHaveLength(0);
  });

  it('a command the schema refuses (ftp: URL, no payload) still gets webhook.dead with the reason, and a dead letter', async () => {
    const env = makeEnvelope('other-program', 'webhook.send', {
      id: 'wh-ftp',
      url: 'ftp://files.example.com/x',
      eventType: 't',
    });
    await h.service.runtime.js.publish('webhook.send', new TextEncoder().encode(JSON.stringify(env)));
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'wh-ftp'));
    expect(dead.event.data).toMatchObject({ attempts: 0, error: { class: 'validation' } });
    expect(dead.event.data.error.message).toMatch(/invalid webhook.send data/);
    // as clear as over HTTP, not zod's bare "Invalid URL"
    expect(dead.event.data.error.message).toMatch(/url: must be an http or https URL with a host/);
    await waitFor(async () =>
      (await h.service.runtime.bus.listDlq({ subject: 'webhook.send' })).find(
        (e: any) => e.data?.data?.id === 'wh-ftp',
      ),
    );
    // its status says so, as for one refused over HTTP (not "unknown or expired")
    expect(await statusOf('wh-ftp')).toMatchObject({ status: 'dead', attempts: 0 });
    expect((await statusOf('wh-ftp')).lastError).toMatch(/must be an http or https URL/);
  });

  it('429 with Retry-After: 2 waits at least 2 s before the next attempt', async () => {
    const r = await receiver((i) => (i === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }));
    await h.api('POST', '/api/webhooks', { id: 'wh-429', url: r.url, eventType: 't', payload: {} });
    await waitFor(() => h.events.of('webhook.delivered').find((e) => e.event.data.id === 'wh-429'), 10_000);
    expect(r.requests).toHaveLength(2);
    expect(r.requests[1].at - r.requests[0].at).toBeGreaterThanOrEqual(2000);
  });

  it('always 500: 4 attempts, then exactly one dead letter and webhook.dead', async () => {
    const r = await receiver(() => ({ status: 500 }));
    await h.api('POST', '/api/webhooks', { id: 'wh-500', url: r.url, eventType: 't', payload: { a: 1 } });
    const dead = await waitFor(() => h.events.of('webhook.dead').find((e) => e.event.data.id === 'wh-500'), 15_000);
    expect(dead.event.data).toMatchObject({ attempts: 4, status: 500 });
    expect(r.requests).toHaveLength(4);
    expect(await statusOf('wh-500')).toMatchObject({ status: 'dead', attempts: 4, lastStatusCode: 500 });
    const dlq = await waitFor(async () => {
      const entries = (await h.api('GET', '/api/dlq')).body.entries.filter((e: any) => e.data?.data?.id === 'wh-500');
      return entries.length > 0 ? entries : undefined;
    });
    expect(dlq).toHaveLength(1);
    // used-up retries of a 500 are not a refusal: the dead letter says transient (a replay may succeed), as the email does
    expect(dlq[0]).toMatchObject({ errorClass: 'transient', errorCode: 'VIGIL_E_RETRIES_EXHAUSTED' });
    expect(dead.event.data.error).toMatchObject({ class: 'transient' });
    const failed = h.events.of('webhook.attempt-failed').filter((e) => e.event.data.id === 'wh-500');
    expect(failed.map((e) => e.event.data.attempt)).toEqual([1, 2, 3, 4]);
  });

  it('a repeated id never delivers twice (HTTP intake and webhook.send events)', async () => {
    const r = await receiver(() => ({ status: 200 }));
    const body = { id: 'wh-once', url: r.url, eventType: 't', payload: {} };
    expect((await h.api('POST', '/api/webhooks', body)).status).toBe(202);
    await waitFor(() => h.events.of('webhook.delivered').find((e) => e.event.data.id === 'wh-once'));
    expect((await h.api('POST', '/api/webhooks', body)).body).toMatchObject({ id: 'wh-once', status: 'delivered' });
    // a second command published straight to the queue (past any de-duplication window)
    await h.service.runtime.bus.publish('webhook.send', body, { msgId: 'another-message' });
    await waitFor(async () => {
      const info = await h.service.runtime.jsm.consumers.info('VIGIL_WEBHOOKS', 'webhooks');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
    expect(r.requests).toHaveLength(1);
  });

  it("format 'raw' (HTTP intake and webhook.send): the payload is the body unchanged, still signed", async () => {
    const r = await receiver(() => ({ status: 200 }));
    const payload = { text: 'job *failed*', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x' } }] };
    // a Slack-style URL: the credential is a path segment
    const slackPath = '/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX';
    const viaApi = { id: 'wh-raw-api', url: `${r.url}${slackPath}`, eventType: 'vigil.alert', format: 'raw', payload };
    expect((await h.api('POST', '/api/webhooks', viaApi)).status).toBe(202);
    await h.service.runtime.bus.publish('webhook.send', { ...viaApi, id: 'wh-raw-event' });
    await waitFor(() => r.requests.length === 2, 15_000);

    const wh = new Webhook(SECRET);
    for (const req of r.requests) {
      // exactly the payload at the top level: what a Slack incoming webhook accepts
      expect(JSON.parse(req.body)).toEqual(payload);
      expect(req.headers['content-type']).toMatch(/^application\/json/);
      expect(wh.verify(req.body, req.headers as Record<string, string>)).toEqual(payload);
    }
    expect(r.requests.map((q) => q.headers['webhook-id']).sort()).toEqual(['wh-raw-api', 'wh-raw-event']);
    await waitFor(async () => (await statusOf('wh-raw-event')).status === 'delivered');
    // the token went to the receiver, and nowhere else: not the status (readable over HTTP), not the events
    expect(r.requests[0].url).toBe(slackPath);
    expect((await statusOf('wh-raw-event')).url).toBe(`${r.url}/services/T0000/B0000/…`);
    const delivered = await waitFor(() =>
      h.events.of('webhook.delivered').find((e) => e.event.data.id === 'wh-raw-api'),
    );
    expect(JSON.stringify(delivered.event.data)).not.toContain('XXXXXXXXXXXXXXXXXXXXXXXX');
  });

  it('an id-less webhook.send event gets a stable id and is delivered', async () => {
    const r = await receiver(() => ({ status: 200 }));
    await h.service.runtime.bus.publish('webhook.send', { url: r.url, eventType: 'evt', payload: [1, 2] });
    await waitFor(() => r.requests.length === 1);
    const id = r.requests[0].headers['webhook-id'] as string;
    await waitFor(async () => (await statusOf(id)).status === 'delivered');
  });

  it('intake validation: auth, size, URL, unknown id', async () => {
    const ok = { url: 'http://127.0.0.1:9/x', eventType: 't', payload: {} };
    expect((await h.api('POST', '/api/webhooks', ok, null)).status).toBe(401);
    expect((await h.api('POST', '/api/webhooks', ok, 'wrong')).status).toBe(403);
    const big = await h.api('POST', '/api/webhooks', { ...ok, payload: { s: 'x'.repeat(300 * 1024) } });
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'VIGIL_E_WEBHOOK_PAYLOAD_TOO_LARGE' } } });
    const ftp = await h.api('POST', '/api/webhooks', { ...ok, url: 'ftp://example.com/x' });
    expect(ftp).toMatchObject({ status: 400, body: { error: { code: 'VIGIL_E_WEBHOOK_URL_REFUSED' } } });
    expect((await h.api('POST', '/api/webhooks', { url: 'http://e.com' })).status).toBe(400);
    const unknown = await h.api('GET', '/api/webhooks/nope');
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'VIGIL_E_WEBHOOK_NOT_FOUND' } } });
  });

  it('exports delivery metrics', async () => {
    const res = await fetch(`${h.service.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/vigil_webhook_deliveries_total\{result="delivered"\} [1-9]/);
    expect(text).toMatch(/vigil_webhook_delivery_seconds_count [1-9]/);
    expect(text).toMatch(/vigil_breaker_state\{service="webhooks",name="http:\/\/127\.0\.0\.1:\d+"\} 0/);
  });
});
