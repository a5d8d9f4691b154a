// runner.throughput: no-op runs per second through the Vigil runner (services/reports, concurrency 50,
// group-committed idempotency journal, one terminal event per run) against BullMQ 6.7 on the same machine
// (same concurrency, no-op processor), and runner.vs-raw-jetstream against a bare nats.js loop doing the
// durable minimum per run (consume, publish one terminal event, ack) at the same concurrency.
// Each contender drains a pre-filled queue; the rate is measured from its first completion to its last.
// Needs a build (pnpm exec tsc -b): it imports the built service and test kit.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { AckPolicy, connect, headers } from 'nats';
import { makeEnvelope } from '../packages/shared/dist/index.js';
import { startNats, startRedis } from '../packages/shared/dist/testing/index.js';
import { startReportsService } from '../services/reports/dist/service.js';

const N = Number(process.env.BENCH_RUNNER_N ?? 20_000);
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

async function ours(natsUrl, nc) {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-runner-'));
  writeFileSync(path.join(dir, 'noop.mjs'), 'export default { async run() {} };\n');
  writeFileSync(
    path.join(dir, 'jobs.yaml'),
    'jobs:\n  noop:\n    handler: module:./noop.mjs\n    concurrency: allow\n    retries: { max: 0 }\n',
  );
  const jsm = await nc.jetstreamManager();
  // The service creates the streams; pre-create VIGIL_JOBS so the queue can be filled before it starts.
  await jsm.streams.add({ name: 'VIGIL_JOBS', subjects: ['job.>'], duplicate_window: 120_000_000_000 });
  await prefill(nc.jetstream(), () => 'job.requested.noop', 'noop', N);
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
  const rate = await measure(N, async () => {
    const info = await jsm.streams.info('VIGIL_JOBS', { subjects_filter: 'job.succeeded.noop' });
    return info.state.subjects?.['job.succeeded.noop'] ?? 0;
  });
  await service.stop();
  return rate;
}

async function rawLoop(nc) {
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['raw.>'] });
  await prefill(js, () => 'raw.requested.noop', 'raw', N);
  await jsm.consumers.add('BENCH_RAW', {
    durable_name: 'raw',
    ack_policy: AckPolicy.Explicit,
    filter_subject: 'raw.requested.>',
  });
  const consumer = await js.consumers.get('BENCH_RAW', 'raw');
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
      js.publish('raw.succeeded.noop', body, { headers: h }).then(() => {
        m.ack();
        done++;
        inflight--;
        wake?.();
      });
      while (inflight >= CONCURRENCY) await new Promise((r) => (wake = r));
      if (done >= N) break;
    }
  })();
  const rate = await measure(N, async () => done);
  messages.stop();
  await loop.catch(() => undefined);
  return rate;
}

async function bullmq(redisUrl) {
  const u = new URL(redisUrl);
  const connection = { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
  const queue = new Queue('bench-noop', { connection });
  for (let i = 0; i < N; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({
        name: 'noop',
        data: { runId: `b-${i + k}`, job: 'noop' },
        opts: { removeOnComplete: true, removeOnFail: true },
      })),
    );
  }
  let done = 0;
  const worker = new Worker('bench-noop', async () => undefined, { connection, concurrency: CONCURRENCY });
  worker.on('completed', () => {
    done++;
  });
  const rate = await measure(N, async () => done);
  await worker.close();
  await queue.close();
  return rate;
}

export async function run() {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url });
  const redis = await startRedis();
  try {
    const raw = await rawLoop(nc);
    console.log(`  raw JetStream loop: ${raw.toFixed(0)} runs/s`);
    const bull = await bullmq(redis.url);
    console.log(`  BullMQ 6.7: ${bull.toFixed(0)} runs/s`);
    const runner = await ours(nats.url, nc);
    console.log(
      `  Vigil runner: ${runner.toFixed(0)} runs/s (ratio vs BullMQ ${(runner / bull).toFixed(2)}, vs raw loop ${(runner / raw).toFixed(2)})`,
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
