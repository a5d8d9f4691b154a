// scheduler.trigger-to-requested-p99 (and p50): latency from publishing a `job.trigger.<job>` event to the
// scheduler publishing the matching `job.requested.<job>`, at a steady 500 triggers/s. Real NATS, the real
// scheduler (trigger consumer, conflict check, de-duplicated publish, run history folding alongside).
// Needs a build (pnpm exec tsc -b): it imports the built service and test kit.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { createLogger, EventBus, newEventId } from '../packages/shared/dist/index.js';
import { startNats } from '../packages/shared/dist/testing/index.js';
import { startSchedulerService } from '../services/scheduler/dist/service.js';

const RATE = Number(process.env.BENCH_SCHEDULER_RATE ?? 500);
const N = Number(process.env.BENCH_SCHEDULER_N ?? 3_000);
const WARMUP = 100;

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function run() {
  const nats = await startNats();
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-scheduler-'));
  const jobsFile = path.join(dir, 'jobs.yaml');
  writeFileSync(jobsFile, 'jobs:\n  bench:\n    handler: health.daily\n    concurrency: allow\n');
  const scheduler = await startSchedulerService({
    env: {
      NATS_URL: nats.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      VIGIL_JOBS_FILE: jobsFile,
      VIGIL_JOBS_WATCH: 'false',
    },
    handleSignals: false,
  });
  const nc = await connect({ servers: nats.url });
  const bus = new EventBus(nc, { service: 'bench', logger: createLogger({ service: 'bench', level: 'silent' }) });
  const sentAt = new Map();
  const latencies = [];
  let seen = 0;
  let allSeen;
  const done = new Promise((resolve) => {
    allSeen = resolve;
  });
  const sub = nc.subscribe('job.requested.bench', {
    callback: (_err, msg) => {
      const runId = JSON.parse(new TextDecoder().decode(msg.data)).data.runId;
      const t = sentAt.get(runId);
      if (t === undefined) return;
      sentAt.delete(runId);
      seen++;
      if (seen > WARMUP) latencies.push(performance.now() - t);
      if (seen === N + WARMUP) allSeen();
    },
  });
  try {
    const total = N + WARMUP;
    const start = performance.now();
    const pending = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const id = newEventId();
      sentAt.set(id, performance.now());
      pending.push(bus.publish('job.trigger.bench', { reason: 'bench' }, { id }));
      if (pending.length >= 200) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await Promise.race([
      done,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`only ${seen}/${total} job.requested seen`)), 30_000),
      ),
    ]);
    latencies.sort((a, b) => a - b);
    const p50 = Number(percentile(latencies, 50).toFixed(2));
    const p99 = Number(percentile(latencies, 99).toFixed(2));
    console.log(`  ${N} triggers at ${RATE}/s: trigger→job.requested p50 ${p50} ms, p99 ${p99} ms`);
    return [
      { name: 'scheduler.trigger-to-requested-p99', unit: 'ms', ours: p99 },
      { name: 'scheduler.trigger-to-requested-p50', unit: 'ms', ours: p50 },
    ];
  } finally {
    sub.unsubscribe();
    await nc.close();
    await scheduler.stop();
    await nats.stop();
  }
}
