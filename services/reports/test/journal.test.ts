import { Writable } from 'node:stream';
import { collectEvents, startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import { AckPolicy, connect, type KV, type NatsConnection, nanos } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminalEvent } from '../src/runner/run-event.js';
import { RunJournal } from '../src/runner/run-journal.js';
import { IDEMPOTENCY_BUCKET } from '../src/service.js';
import { jobsDir, requestRun, startRunner } from './helpers.js';

/** A completion as earlier versions journaled it (the whole terminal event), written the way they wrote pages. */
async function putEarlierPage(
  kv: KV,
  instance: string,
  seq: number,
  runId: string,
  done: { subject: string; msgId: string; event: string },
): Promise<void> {
  const entry = `[${seq},${JSON.stringify(runId)},${JSON.stringify(done.subject)},${JSON.stringify(done.msgId)},${done.event}]`;
  await kv.put(
    `r${Math.floor(seq / 4096)}.${instance}.earlier`,
    `{"instance":${JSON.stringify(instance)},"c":[],"d":[${entry}]}`,
  );
}

const g = globalThis as unknown as { journalTest: number };
g.journalTest = 0;

/** The runner's stream and durable with a 1 s ack wait, created unless a case before made them. */
async function runnerQueue(nc: NatsConnection) {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'VIGIL_JOBS', subjects: ['job.>'] }).catch(() => undefined);
  await jsm.consumers
    .add('VIGIL_JOBS', {
      durable_name: 'runner',
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'job.requested.>',
      ack_wait: nanos(1000),
      max_deliver: -1,
    })
    .catch(() => undefined);
  return jsm;
}

describe('idempotency journal', () => {
  let nats: TestServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('group-commits claims and completions that any replica can look up by stream sequence', async () => {
    const kv = await nc.jetstream().views.kv('journal_unit', { history: 1 });
    const a = new RunJournal(kv, 'replica-a');
    await Promise.all([a.claim(5, 'r5'), a.claim(6, 'r6'), a.claim(9000, 'r9000')]);
    await putEarlierPage(kv, 'replica-a', 5, 'r5', {
      subject: 'job.succeeded.x',
      msgId: 'r5.succeeded',
      event: '{"id":"e"}',
    });
    const b = new RunJournal(kv, 'replica-b');
    expect(await b.lookup(5)).toMatchObject({
      claims: [{ instance: 'replica-a', runId: 'r5' }],
      done: { runId: 'r5', record: { msgId: 'r5.succeeded', event: '{"id":"e"}' } },
    });
    expect((await b.lookup(6)).done).toBeUndefined();
    expect((await b.lookup(6)).claims).toHaveLength(1);
    expect(await b.lookup(7)).toEqual({ claims: [] });
    expect((await b.lookup(9000)).claims[0].runId).toBe('r9000');
    // What a run journals today: a summary that rebuilds its terminal event (the whole event above is how pages
    // written by earlier versions look; both are read back).
    const summary = { status: 'partial' as const, id: 'EVT1', startedAt: 1, finishedAt: 5, attempts: 2 };
    const outcome = { status: 'partial' as const, stats: { targets: 2, succeeded: 1, failed: 1, skipped: 0 } };
    await a.complete(9000, 'r9000', { ...summary, outcome });
    expect((await b.lookup(9000)).done).toEqual({ runId: 'r9000', summary: { ...summary, outcome } });
    // three claims and a completion in at most three writes (one page per range and flush), plus the earlier page
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    expect(keys.length).toBeLessThanOrEqual(4);
  });

  it.each([
    ['a summary (what the runner journals)', 'summary'],
    ['its whole event (pages of earlier versions)', 'record'],
  ])(
    'a redelivered run that a dead replica finished, journaled as %s, is re-published, acked and not executed again',
    async (_, form) => {
      g.journalTest = 0;
      const { file } = jobsDir('jobs:\n  once:\n    handler: module:./count.mjs\n', {
        'count.mjs': 'export default { async run() { globalThis.journalTest++; } };',
      });
      // The first case's runner created (and configured) both already: then they are used as they are.
      const jsm = await runnerQueue(nc);
      const runId = `once-${form}`;
      await requestRun(nc, 'once', runId);
      // A replica receives it, executes, records done and publishes the terminal event, then dies before its ack.
      const consumer = await nc.jetstream().consumers.get('VIGIL_JOBS', 'runner');
      const msg = await consumer.next();
      if (!msg) throw new Error('no message');
      const kv = await nc.jetstream().views.kv(IDEMPOTENCY_BUCKET);
      const dead = new RunJournal(kv, 'dead-replica');
      await dead.claim(msg.seq, runId);
      const request = JSON.parse(new TextDecoder().decode(msg.data)).data;
      const event = terminalEvent(request, { status: 'succeeded' }, 1, Date.now() - 5, Date.now());
      if (form === 'summary') {
        await dead.complete(msg.seq, runId, {
          status: 'succeeded',
          id: event.id,
          startedAt: Date.parse(event.data.startedAt as string),
          finishedAt: Date.parse(event.data.finishedAt as string),
          attempts: 1,
        });
      } else {
        await putEarlierPage(kv, 'dead-replica', msg.seq, runId, {
          subject: 'job.succeeded.once',
          msgId: `${runId}.succeeded`,
          event: JSON.stringify(event),
        });
      }

      const events = collectEvents(nc, 'job.succeeded.once');
      const service = await startRunner(nats.url, file, { RUNNER_ACK_WAIT: '1s' });
      try {
        const [republished] = await events.waitFor('job.succeeded.once', 1, 10_000);
        // the very event the dead replica would have published: same id, same run data
        expect(republished.event).toEqual(event);
        await waitFor(async () => (await jsm.consumers.info('VIGIL_JOBS', 'runner')).num_ack_pending === 0, 10_000);
        expect(g.journalTest).toBe(0);
      } finally {
        await service.stop();
      }
    },
  );

  it('a redelivered run still owned by a live replica is left to it; taken over once that replica is gone', async () => {
    const { file } = jobsDir('jobs:\n  owned:\n    handler: module:./count.mjs\n', {
      'count.mjs': 'export default { async run() { globalThis.journalTest++; } };',
    });
    g.journalTest = 0;
    const jsm = await nc.jetstreamManager();
    await requestRun(nc, 'owned', 'owned-1');
    const consumer = await nc.jetstream().consumers.get('VIGIL_JOBS', 'runner');
    const msg = await consumer.next();
    if (!msg) throw new Error('no message');
    // A replica that claimed it, stalls (no heartbeats on the message) but is alive.
    const kv = await nc.jetstream().views.kv(IDEMPOTENCY_BUCKET);
    const owner = new RunJournal(kv, 'stalled-replica');
    await owner.claim(msg.seq, 'owned-1');
    await owner.markAlive();
    const alive = setInterval(() => void owner.markAlive(), 200);
    const lines: string[] = [];
    const logDestination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const deferrals = () => lines.filter((l) => l.includes('still owned by a live replica; deferring')).length;
    const events = collectEvents(nc, 'job.*.owned');
    const service = await startRunner(nats.url, file, { LOG_LEVEL: 'info', RUNNER_ACK_WAIT: '1s' }, { logDestination });
    try {
      // two redeliveries seen and left to the live owner (a run executed meanwhile ends the wait, and the test)
      await waitFor(() => deferrals() >= 2 || g.journalTest > 0, 15_000);
      expect(g.journalTest).toBe(0);
      expect((await jsm.consumers.info('VIGIL_JOBS', 'runner')).num_redelivered).toBeGreaterThan(0);
      clearInterval(alive);
      await events.waitFor('job.succeeded', 1, 10_000);
      expect(g.journalTest).toBe(1);
    } finally {
      clearInterval(alive);
      await service.stop();
    }
  });
  it('a sequence reused by another run (broker lost the stream tail) is executed, not answered with the old run', async () => {
    const { file } = jobsDir('jobs:\n  reused:\n    handler: module:./count.mjs\n', {
      'count.mjs': 'export default { async run() { globalThis.journalTest++; } };',
    });
    g.journalTest = 0;
    // As the cases above set them up (when run on its own, this one does).
    await runnerQueue(nc);
    await requestRun(nc, 'reused', 'reused-new-1');
    await requestRun(nc, 'reused', 'reused-new-2');
    const consumer = await nc.jetstream().consumers.get('VIGIL_JOBS', 'runner');
    // Delivered and not acked: both come back as redeliveries, so they are looked up in the journal.
    const first = await consumer.next();
    const second = await consumer.next();
    if (!first || !second) throw new Error('no message');
    // The journal still holds records of runs that had these sequences before the broker lost them: one
    // finished, one claimed by a replica that is alive.
    const kv = await nc.jetstream().views.kv(IDEMPOTENCY_BUCKET);
    const earlier = new RunJournal(kv, 'earlier-replica');
    await earlier.claim(first.seq, 'lost-run-1');
    await earlier.complete(first.seq, 'lost-run-1', {
      status: 'succeeded',
      id: 'EVT-LOST',
      startedAt: Date.now() - 10,
      finishedAt: Date.now() - 5,
      attempts: 1,
    });
    await earlier.claim(second.seq, 'lost-run-2');
    await earlier.markAlive();
    const alive = setInterval(() => void earlier.markAlive(), 200);
    const lines: string[] = [];
    const logDestination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const events = collectEvents(nc, 'job.succeeded.reused');
    const service = await startRunner(nats.url, file, { LOG_LEVEL: 'info', RUNNER_ACK_WAIT: '1s' }, { logDestination });
    try {
      const done = await events.waitFor('job.succeeded.reused', 2, 10_000);
      expect(done.map((e) => e.event.data.runId).sort()).toEqual(['reused-new-1', 'reused-new-2']);
      expect(done.map((e) => e.event.id)).not.toContain('EVT-LOST');
      expect(g.journalTest).toBe(2);
      const log = lines.join('');
      expect(log).not.toContain('redelivered run had finished');
      expect(log).not.toContain('deferring');
    } finally {
      clearInterval(alive);
      await service.stop();
    }
  });
});
