// runner.throughput: no-op runs per second through the Vigil runner (services/reports, concurrency 50,
// group-committed idempotency journal, one terminal event per run) against BullMQ 6.7 on the same machine
// (same concurrency, no-op processor), and runner.vs-raw-jetstream against a bare nats.js loop doing the
// durable minimum per run (consume, publish one terminal event, ack) at the same concurrency.
// Each contender drains a pre-filled queue; the rate is measured from its first completion to its last;
// a warm-up round of each (not counted), then three interleaved rounds, best of each.
// Needs a build (pnpm exec tsc -b): it imports the built service and test kit.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { AckPolicy, connect, headers } from 'nats';
import { ensureStreams, makeEnvelope } from '../packages/shared/dist/index.js';
import { startNats, startRedis } from '../packages/shared/dist/testing/index.js';
import { startReportsService } from '../services/reports/dist/service.js';

const N = Number(process.env.BENCH_RUNNER_N ?? 50_000);
/** Runs per contender before measuring: JIT-compiled code and warm connections, as in a long-running process. */
const WARMUP = Math.min(N, 10_000);
const ROUNDS = 3;
const CONCURRENCY = 50;
const enc = new TextEncoder();

function requestBody(job, i) {
  const data = {
    runId: `${job}-${i}`,
    job,
    attempt: 1,
    trigger: 'manual',
    scheduledAt: new Date().toISOString(),
    status: 'requested',
  };
  return enc.encode(JSON.stringify(makeEnvelope('scheduler', `job.requested.${job}`, data)));
}

async function prefill(js, subjectOf, job, count) {
  const pending = [];
  for (let i = 0; i < count; i++) {
    const h = headers();
    h.set('Nats-Msg-Id', `${job}-${i}`);
    pending.push(js.publish(subjectOf(i), requestBody(job, i), { headers: h }));
    if (pending.length >= 1000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

/** Polls a completion counter; returns runs/s between the first and the last completion. */
async function measure(count, done) {
  let first;
  let firstCount = 0;
  for (;;) {
    const c = await done();
    const now = performance.now();
    if (first === undefined && c > 0) {
      first = now;
      firstCount = c;
    }
    if (c >= count) return ((c - firstCount) / (now - first)) * 1000;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function ours(natsUrl, nc, round, n = N) {
  const job = `noop${round}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-runner-'));
  writeFileSync(path.join(dir, 'noop.mjs'), 'export default { async run() {} };\n');
  writeFileSync(
    path.join(dir, 'jobs.yaml'),
    `jobs:\n  ${job}:\n    handler: module:./noop.mjs\n    concurrency: allow\n    retries: { max: 0 }\n`,
  );
  const jsm = await nc.jetstreamManager();
  // The service creates the streams; pre-create VIGIL_JOBS so the queue can be filled before it starts.
  await ensureStreams(jsm, { only: ['VIGIL_JOBS'] });
  await prefill(nc.jetstream(), () => `job.requested.${job}`, job, n);
  const service = await startReportsService({
    env: {
      NATS_URL: natsUrl,
      VIGIL_JOBS_FILE: path.join(dir, 'jobs.yaml'),
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      RUNNER_CONCURRENCY: String(CONCURRENCY),
    },
    handleSignals: false,
  });
  // Completed = acknowledged by the runner (it acks only after the terminal event is stored). Consumer info is
  // O(1) on the server, unlike counting a subject in the stream, so measuring does not slow the server down.
  const rate = await measure(n, async () => {
    const info = await jsm.consumers.info('VIGIL_JOBS', 'runner');
    return n - info.num_pending - info.num_ack_pending;
  });
  const stored = await jsm.streams.info('VIGIL_JOBS', { subjects_filter: `job.succeeded.${job}` });
  if (stored.state.subjects?.[`job.succeeded.${job}`] !== n)
    throw new Error(`expected ${n} terminal events for ${job}`);
  await service.stop();
  return rate;
}

async function rawLoop(nc, round, n = N) {
  const name = `BENCH_RAW_${round}`;
  const prefix = `raw${round}`;
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  await jsm.streams.add({ name, subjects: [`${prefix}.>`] });
  await prefill(js, () => `${prefix}.requested.noop`, prefix, n);
  await jsm.consumers.add(name, {
    durable_name: 'raw',
    ack_policy: AckPolicy.Explicit,
    filter_subject: `${prefix}.requested.>`,
  });
  const consumer = await js.consumers.get(name, 'raw');
  const messages = await consumer.consume({ max_messages: CONCURRENCY * 2 });
  let done = 0;
  let inflight = 0;
  let wake;
  const loop = (async () => {
    for await (const m of messages) {
      inflight++;
      const h = headers();
      h.set('Nats-Msg-Id', `${m.seq}.succeeded`);
      const body = enc.encode(JSON.stringify({ seq: m.seq, status: 'succeeded', at: new Date().toISOString() }));
      js.publish(`${prefix}.succeeded.noop`, body, { headers: h }).then(() => {
        m.ack();
        done++;
        inflight--;
        wake?.();
      });
      while (inflight >= CONCURRENCY) await new Promise((r) => (wake = r));
      if (done >= n) break;
    }
  })();
  const rate = await measure(n, async () => done);
  messages.stop();
  await loop.catch(() => undefined);
  return rate;
}

async function bullmq(redisUrl, round, n = N) {
  const name = `bench-noop-${round}`;
  const u = new URL(redisUrl);
  const connection = { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection });
  for (let i = 0; i < n; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({
        name: 'noop',
        data: { runId: `b-${i + k}`, job: 'noop' },
        opts: { removeOnComplete: true, removeOnFail: true },
      })),
    );
  }
  let done = 0;
  const worker = new Worker(name, async () => undefined, { connection, concurrency: CONCURRENCY });
  worker.on('completed', () => {
    done++;
  });
  const rate = await measure(n, async () => done);
  await worker.close();
  await queue.close();
  return rate;
}

export async function run() {
  const nats = await startNats();
  // The peer loop gets the same connection tuning the services use (no async stack capture per request).
  const nc = await connect({ servers: nats.url, noAsyncTraces: true });
  const redis = await startRedis();
  try {
    // A warm-up round each (not counted), then interleaved rounds, best of each: the machine is shared, so one
    // unlucky moment should not decide (the fastest round is the one least disturbed by other processes).
    await rawLoop(nc, 0, WARMUP);
    await bullmq(redis.url, 0, WARMUP);
    await ours(nats.url, nc, 0, WARMUP);
    let raw = 0;
    let bull = 0;
    let runner = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const r = await rawLoop(nc, round);
      const b = await bullmq(redis.url, round);
      const o = await ours(nats.url, nc, round);
      console.log(
        `  round ${round}: raw JetStream loop ${r.toFixed(0)}, BullMQ ${b.toFixed(0)}, Vigil runner ${o.toFixed(0)} runs/s`,
      );
      raw = Math.max(raw, r);
      bull = Math.max(bull, b);
      runner = Math.max(runner, o);
    }
    console.log(
      `  best: Vigil runner ${runner.toFixed(0)} runs/s (vs BullMQ ${(runner / bull).toFixed(2)}, vs raw loop ${(runner / raw).toFixed(2)})`,
    );
    return [
      {
        name: 'runner.throughput',
        unit: 'runs/s',
        ours: Math.round(runner),
        peerName: 'BullMQ',
        peer: Math.round(bull),
      },
      {
        name: 'runner.vs-raw-jetstream',
        unit: 'runs/s',
        ours: Math.round(runner),
        peerName: 'raw JetStream loop',
        peer: Math.round(raw),
      },
    ];
  } finally {
    await nc.close();
    await nats.stop();
    await redis.stop();
  }
}
