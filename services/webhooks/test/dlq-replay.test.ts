import { nanos } from 'nats';
import { waitFor } from '@vigil/shared/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './harness.js';
import { workerKit } from './worker-kit.js';

// Replaying webhook dead letters: a replay re-drives (the entry leaves the DLQ) and never un-delivers or re-sends a
// delivered webhook, over HTTP or through the shared replayDlq that `vigil dlq replay` calls.
const kit = workerKit();
const { receiver } = kit;
let h: Harness;
beforeAll(() => {
  h = kit.harness();
});

interface Entry {
  seq: number;
  headers: Record<string, string>;
  data: { data: { id: string } };
}

const entriesOf = async (id: string): Promise<Entry[]> =>
  ((await h.api('GET', '/api/dlq?subject=webhook.send&limit=1000')).body.entries as Entry[]).filter(
    (e) => e.data?.data?.id === id,
  );
const statusOf = async (id: string) => (await h.api('GET', `/api/webhooks/${id}`)).body;
const ofId = (subject: string, id: string) => h.events.of(subject).filter((e) => e.event.data.id === id);

/** Resolves once the service's consumer has handled everything up to `streamSeq` of VIGIL_WEBHOOKS. */
const handledUpTo = (streamSeq: number) =>
  waitFor(async () => {
    const info = await h.service.runtime.jsm.consumers.info('VIGIL_WEBHOOKS', 'webhooks');
    return info.delivered.stream_seq >= streamSeq && info.num_pending === 0 && info.num_ack_pending === 0;
  }, 15_000);

describe('replaying webhook dead letters', () => {
  it('a dead letter of a webhook delivered meanwhile: HTTP says so and sends nothing; the CLI path sends nothing', async () => {
    let answer = 400;
    const r = await receiver(() => ({ status: answer }));
    const data = { id: 'twin', url: r.url, eventType: 't', payload: {} };
    await h.api('POST', '/api/webhooks', data);
    await waitFor(() => ofId('webhook.dead', 'twin').length === 1);
    // two more commands for the same id (a publisher retrying under new msg ids) find it dead: dead letters too
    await h.service.runtime.bus.publish('webhook.send', data, { msgId: 'twin-b' });
    await h.service.runtime.bus.publish('webhook.send', data, { msgId: 'twin-c' });
    const [c, b, a] = await waitFor(async () => {
      const list = await entriesOf('twin');
      return list.length === 3 ? list : undefined;
    });
    expect(r.requests).toHaveLength(1);

    answer = 200;
    const first = await h.api('POST', `/api/dlq/${a.seq}/replay`);
    expect(first).toMatchObject({ status: 202, body: { id: 'twin', replayed: true, removed: true } });
    await waitFor(() => ofId('webhook.delivered', 'twin').length === 1);
    expect(r.requests).toHaveLength(2);

    // HTTP: already delivered, so nothing is published or sent; the stale dead letter goes
    const depth = await h.service.runtime.bus.dlqDepth();
    const second = await h.api('POST', `/api/dlq/${b.seq}/replay`);
    expect(second).toMatchObject({
      status: 200,
      body: { seq: b.seq, subject: 'webhook.send', id: 'twin', status: 'delivered', replayed: false, removed: true },
    });
    expect(second.body.replayedSeq).toBeUndefined();
    expect((await entriesOf('twin')).map((e) => e.seq)).toEqual([c.seq]);
    expect(await h.service.runtime.bus.dlqDepth()).toBe(depth - 1);

    // shared replayDlq (what `vigil dlq replay` runs) publishes; the worker takes it as a repeat and sends nothing
    const third = await h.service.runtime.bus.replayDlq(c.seq);
    expect(third).toMatchObject({ duplicate: false, removed: true });
    await handledUpTo(third.seq);
    expect(await entriesOf('twin')).toEqual([]);
    expect(r.requests).toHaveLength(2);
    expect(ofId('webhook.delivered', 'twin')).toHaveLength(1);
    expect(await statusOf('twin')).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('a replayed webhook that fails again is dead again, with a new dead letter in place of the replayed one', async () => {
    const r = await receiver(() => ({ status: 400 }));
    await h.api('POST', '/api/webhooks', { id: 'still-400', url: r.url, eventType: 't', payload: {} });
    const [first] = await waitFor(async () => {
      const list = await entriesOf('still-400');
      return list.length === 1 ? list : undefined;
    });
    const replay = await h.api('POST', `/api/dlq/${first.seq}/replay`);
    expect(replay).toMatchObject({ status: 202, body: { replayed: true, removed: true } });
    await waitFor(() => ofId('webhook.dead', 'still-400').length === 2);
    const [again] = await waitFor(async () => {
      const list = await entriesOf('still-400');
      return list.length === 1 && list[0].seq !== first.seq ? list : undefined;
    });
    expect(again.seq).toBeGreaterThan(first.seq);
    expect(again.headers['Vigil-Replay-Of']).toBe(String(first.seq));
    expect(again.headers['Vigil-Original-Seq']).toBe(String(replay.body.replayedSeq));
    expect(r.requests).toHaveLength(2);
    expect(await statusOf('still-400')).toMatchObject({ status: 'dead', attempts: 1, lastStatusCode: 400 });
  });

  // Last in the file: deny_delete cannot be switched off again.
  it('an entry the DLQ keeps: replaying it again never un-delivers or re-sends, inside the duplicate window or after', async () => {
    const jsm = h.service.runtime.jsm;
    const dlqConfig = (await jsm.streams.info('VIGIL_DLQ')).config;
    await jsm.streams.update('VIGIL_DLQ', { ...dlqConfig, deny_delete: true });
    let answer = 400;
    const r = await receiver(() => ({ status: answer }));
    await h.api('POST', '/api/webhooks', { id: 'kept', url: r.url, eventType: 't', payload: {} });
    const [entry] = await waitFor(async () => {
      const list = await entriesOf('kept');
      return list.length === 1 ? list : undefined;
    });

    answer = 200;
    const first = await h.api('POST', `/api/dlq/${entry.seq}/replay`);
    expect(first).toMatchObject({ status: 202, body: { id: 'kept', replayed: true, removed: false } });
    expect(first.body.keptReason).toMatch(/not permitted/);
    await waitFor(() => ofId('webhook.delivered', 'kept').length === 1);
    expect(r.requests).toHaveLength(2);

    // over HTTP: answered as delivered, nothing published; the entry is still kept
    const second = await h.api('POST', `/api/dlq/${entry.seq}/replay`);
    expect(second).toMatchObject({ status: 200, body: { status: 'delivered', replayed: false, removed: false } });
    expect((await entriesOf('kept')).map((e) => e.seq)).toEqual([entry.seq]);
    // through the shared replayDlq inside the duplicate window: the same copy, nothing new queued
    const third = await h.service.runtime.bus.replayDlq(entry.seq);
    expect(third).toMatchObject({ duplicate: true, seq: first.body.replayedSeq, removed: false });

    // after the window (shortened here) the copy is stored again: the worker takes it as a repeat of a delivered id
    const webhooksConfig = (await jsm.streams.info('VIGIL_WEBHOOKS')).config;
    await jsm.streams.update('VIGIL_WEBHOOKS', { ...webhooksConfig, duplicate_window: nanos(200) });
    const late = await waitFor(async () => {
      const res = await h.service.runtime.bus.replayDlq(entry.seq);
      return res.duplicate ? undefined : res;
    });
    expect(late.seq).toBeGreaterThan(first.body.replayedSeq);
    await handledUpTo(late.seq);
    expect(r.requests).toHaveLength(2);
    expect(ofId('webhook.delivered', 'kept')).toHaveLength(1);
    expect(await statusOf('kept')).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await h.redis.exists('vigil:webhook-delivered:kept')).toBe(1);
  });
});
