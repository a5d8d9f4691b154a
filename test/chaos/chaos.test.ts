import { type HttpReceiver, startHttpReceiver, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Stack } from '../e2e/stack.js';
import { ledger, readStream } from './ledger.js';

// With 200 runs in flight: kill -9 a runner, the scheduler replica the triggers went through, the notifier,
// and restart nats-server with its JetStream store. Then the durable record must show every requested run
// ended exactly once, and every failed run exactly one email.
const RUNS = 200;
const FAIL_EVERY = 10; // 20 of the 200 runs fail (their endpoint answers 500)

let ok: HttpReceiver;
let broken: HttpReceiver;
let stack: Stack;

beforeAll(async () => {
  // slow enough that the runs are still in flight when the kills come
  ok = await startHttpReceiver(() => ({ status: 200, delayMs: 300 + Math.floor(Math.random() * 1_500) }));
  broken = await startHttpReceiver(() => ({ status: 500, delayMs: 200 }));
  stack = new Stack({
    jobsYaml: `
timezone: UTC
jobs:
  chaos-export:
    handler: http
    http: { url: "${ok.url}/export", method: POST, timeout: 10s }
    concurrency: allow
    retries: { max: 0 }
    startDeadline: 10m
  chaos-tick:
    every: 3s
    handler: http
    http: { url: "${ok.url}/tick", method: POST, timeout: 10s }
    concurrency: allow
    retries: { max: 0 }
    startDeadline: 10m
  chaos-broken:
    handler: http
    http: { url: "${broken.url}/export", method: POST, timeout: 10s }
    concurrency: allow
    retries: { max: 0 }
    startDeadline: 10m
`,
    services: ['secrets', 'webhooks', 'notifier'],
    env: { ALERT_GROUP_INTERVAL: '0', LOG_LEVEL: 'warn' },
    serviceEnv: { notifier: { LOG_LEVEL: process.env.CHAOS_VERBOSE ? 'info' : 'warn' } },
  });
  await stack.up();
  await Promise.all([
    stack.start('scheduler', 'scheduler-1'),
    stack.start('scheduler', 'scheduler-2'),
    stack.start('reports', 'runner-1'),
    stack.start('reports', 'runner-2'),
  ]);
}, 90_000);

afterAll(async () => {
  await stack?.down();
  await ok?.close();
  await broken?.close();
}, 60_000);

it('kill -9 a runner, a scheduler, the notifier and restart NATS with 200 runs in flight: lost 0, duplicated 0', async () => {
  const t0 = Date.now();
  const runIds: string[] = [];
  const failing = new Set<string>();
  // triggers through scheduler-1's HTTP API, the way an operator or another system would
  for (let i = 0; i < RUNS; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, RUNS - i) }, async (_, k) => {
        const n = i + k;
        const job = n % FAIL_EVERY === 0 ? 'chaos-broken' : 'chaos-export';
        const res = await stack.api('scheduler-1', 'POST', `/api/jobs/${job}/trigger`, {
          reason: `chaos #${n}`,
        });
        if (res.status !== 202) throw new Error(`trigger ${n}: ${res.status} ${res.text}`);
        return { runId: res.json.runId as string, job };
      }),
    );
    for (const b of batch) {
      runIds.push(b.runId);
      if (b.job === 'chaos-broken') failing.add(b.runId);
    }
  }
  // some runs finished, most still queued or running
  await waitFor(() => stack.events.of('job.succeeded').length >= 10, { timeout: 30_000, message: '10 runs done' });

  await stack.kill('runner-1');
  await stack.kill('scheduler-1');
  await stack.kill('notifier');
  await stack.nats.restart(); // same port, same JetStream store directory
  // a notifier comes back (as an orchestrator would restart it); runner-1 and scheduler-1 stay dead
  await stack.start('notifier', 'notifier-2');

  // one consistent snapshot of the durable record (the every-3s job keeps requesting runs meanwhile)
  const snapshot = async () => {
    const events = await readStream(stack.nc, 'VIGIL_JOBS');
    return { events, l: ledger(events, runIds, stack.sink.messages) };
  };
  const { events, l } = await waitFor(
    async () => {
      const snap = await snapshot();
      if (process.env.CHAOS_VERBOSE)
        console.log(
          `progress ${Math.round((Date.now() - t0) / 1000)} s: ended ${snap.l.ended}/${snap.l.requested}, ` +
            `failed ${snap.l.failed.length}, emails ${snap.l.emails}`,
        );
      return snap.l.lost.length === 0 && snap.l.failedWithoutEmail.length === 0 ? snap : undefined;
    },
    { timeout: 150_000, interval: 3_000, message: 'every run ended and every failure emailed' },
  ).catch(() => snapshot());
  const dlq = await readStream(stack.nc, 'VIGIL_DLQ').catch(() => []);
  const takenOver = stack
    .logLines('runner-2')
    .filter((l) => /taking over a run|redelivered run had finished/.test(String(l.msg)));
  console.log(
    `chaos: runs ${l.requested}, ended ${l.ended}, lost ${l.lost.length}, duplicated ${l.duplicated.length}, ` +
      `failed ${l.failed.length}, failure emails ${l.failed.length - l.failedWithoutEmail.length}, ` +
      `missing emails ${l.failedWithoutEmail.length}, extra emails ${l.failedWithManyEmails.length}, ` +
      `re-sent copies (same Message-ID) ${l.resentCopies}, ` +
      `dlq ${dlq.length}, runs taken over from the killed runner ${takenOver.length}, ` +
      `${Math.round((Date.now() - t0) / 1000)} s`,
  );
  // every 3 s slot between the first and the last one seen was requested, exactly once, across the kills
  const ticks = events
    .filter((e) => e.subject === 'job.requested.chaos-tick')
    .map((e) => Date.parse(e.event.data.scheduledAt))
    .sort((a, b) => a - b);
  const gaps = ticks.slice(1).filter((t, i) => t - ticks[i] !== 3_000);
  console.log(`schedule: ${ticks.length} slots of chaos-tick requested, gaps ${gaps.length}`);
  if (process.env.CHAOS_VERBOSE) {
    const copies = new Map<string, number>();
    for (const m of stack.sink.messages) {
      const id = m.headers['x-vigil-event-id'] ?? '?';
      copies.set(id, (copies.get(id) ?? 0) + 1);
    }
    for (const [id, n] of copies) {
      if (n < 2) continue;
      console.log(`event ${id} emailed ${n} times`);
      for (const inst of ['notifier', 'notifier-2'])
        for (const line of stack.logLines(inst).filter((x) => JSON.stringify(x).includes(id)))
          console.log(`  ${inst}: ${line.time} ${line.msg} ${(line.err as { message?: string })?.message ?? ''}`);
      for (const m of stack.sink.messages.filter((x) => x.headers['x-vigil-event-id'] === id))
        console.log(`  sink: ${m.receivedAt.toISOString()} ${m.headers['message-id']}`);
    }
  }
  console.log(`lost ${l.lost.length}, duplicated ${l.duplicated.length}`);
  expect(l.requested).toBeGreaterThanOrEqual(RUNS);
  expect(l.lost, stack.tail(20)).toEqual([]);
  expect(l.duplicated).toEqual([]);
  expect([...failing].every((r) => l.failed.includes(r))).toBe(true);
  expect(l.failedWithoutEmail).toEqual([]);
  expect(l.failedWithManyEmails).toEqual([]);
  expect(ticks.length).toBeGreaterThan(5);
  expect(
    gaps.map((t) => new Date(t).toISOString()),
    'slots neither skipped nor doubled',
  ).toEqual([]);
  expect(
    dlq.map((d) => d.subject),
    'no dead letters',
  ).toEqual([]);
}, 240_000);
