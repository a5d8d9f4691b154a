// notifier.failure-to-smtp-p99: latency from publishing a `job.failed` event to the SMTP server accepting the
// alert email, at a steady 100 events/s, grouping off (every event is an email). Real NATS, the real notifier
// (dedupe KV, recipients cascade, render, pooled nodemailer) and an in-process SMTP sink.
// Needs a build (pnpm exec tsc -b): it imports the built service and test kit.
import { connect } from 'nats';
import { createLogger, EventBus } from '../packages/shared/dist/index.js';
import { startNats, startSmtpSink } from '../packages/shared/dist/testing/index.js';
import { startNotifierService } from '../services/notifier/dist/service.js';

const RATE = Number(process.env.BENCH_NOTIFIER_RATE ?? 100);
const N = Number(process.env.BENCH_NOTIFIER_N ?? 1_000);
const WARMUP = 50;

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function failure(job) {
  const now = new Date().toISOString();
  return {
    runId: `run-${job}`,
    job,
    attempt: 1,
    trigger: 'schedule',
    scheduledAt: now,
    finishedAt: now,
    durationMs: 1200,
    status: 'failed',
    error: {
      type: 'ConnectionError',
      message: 'connect ECONNREFUSED 10.0.0.5:443',
      stack: 'ConnectionError: connect ECONNREFUSED 10.0.0.5:443\n    at run (handler.mjs:10:3)',
      class: 'transient',
    },
    stats: { targets: 10, succeeded: 7, failed: 3, skipped: 0 },
  };
}

export async function run() {
  const nats = await startNats();
  const sink = await startSmtpSink();
  const notifier = await startNotifierService({
    env: {
      NATS_URL: nats.url,
      SMTP_URL: sink.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      ADMIN_EMAIL: 'oncall@example.com',
      ALERT_GROUP_INTERVAL: '0',
      VIGIL_JOBS_FILE: '/nonexistent/jobs.yaml',
    },
    handleSignals: false,
  });
  const nc = await connect({ servers: nats.url });
  const bus = new EventBus(nc, { service: 'bench', logger: createLogger({ service: 'bench', level: 'silent' }) });
  const sentAt = new Map();
  const jobOf = (subject) => /CRITICAL: (bench-\d+) failed/.exec(subject)?.[1];
  const waitForMails = async (count, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    while (sink.messages.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };

  try {
    // Warm-up: pool connections, KV buckets, JIT.
    for (let i = 0; i < WARMUP; i++) await bus.publish(`job.failed.warm-${i}`, failure(`warm-${i}`));
    await waitForMails(WARMUP, 30_000);
    sink.clear();

    const interval = 1000 / RATE;
    const t0 = performance.now();
    const origin = Date.now() - t0;
    const pending = [];
    for (let i = 0; i < N; i++) {
      const due = t0 + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const job = `bench-${i}`;
      sentAt.set(job, origin + performance.now());
      pending.push(bus.publish(`job.failed.${job}`, failure(job)));
    }
    await Promise.all(pending);
    await waitForMails(N, 60_000);

    const latencies = [];
    for (const m of sink.messages) {
      const job = jobOf(m.subject);
      const start = job ? sentAt.get(job) : undefined;
      if (start !== undefined) latencies.push(m.receivedAt.getTime() - start);
    }
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(
      `  ${latencies.length}/${N} emails at ${RATE}/s: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms`,
    );
    if (latencies.length < N) console.log(`  WARNING: ${N - latencies.length} email(s) missing`);
    return [
      {
        name: 'notifier.failure-to-smtp-p99',
        unit: 'ms',
        ours: Number(p99.toFixed(2)),
        p50: Number(p50.toFixed(2)),
        delivered: latencies.length,
        of: N,
        rate: RATE,
      },
    ];
  } finally {
    await notifier.stop();
    await nc.drain();
    await sink.stop();
    await nats.stop();
  }
}
