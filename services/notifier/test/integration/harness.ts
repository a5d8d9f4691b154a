import { type Clock, createLogger, EventBus } from '@vigil/shared';
import {
  collectEvents,
  type EventCollector,
  waitFor,
  type SmtpSink,
  startNats,
  startSmtpSink,
  type TestServer,
} from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll } from 'vitest';
import { GROUPS_BUCKET, type StartNotifierOptions, startNotifierService } from '../../src/service.js';

export interface Harness {
  nats: TestServer;
  sink: SmtpSink;
  nc: NatsConnection;
  bus: EventBus;
  /** Events on notification.>, webhook.>, dlq.> and breaker.> (not '>': that would swallow the secrets.get requests). */
  events: { waitFor: EventCollector['waitFor']; stop(): void };
  notifier: Awaited<ReturnType<typeof startNotifierService>>;
  /** Resolves when a durable has nothing pending or unacknowledged (every delivered event was handled). */
  idle(stream: string, durable: string): Promise<void>;
  /**
   * Resolves when no follow-up is between its email and its confirmation in KV. A test that then moves the clock
   * past the claim's lease would otherwise see the follow-up sent again (as after a replica died while sending it).
   */
  followUpsConfirmed(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The environment of a notifier on these servers: the harness's own, and every extra replica a test starts (`over`
 * changes or adds variables).
 */
export function notifierEnv(
  servers: { nats: { url: string }; sink: { url: string } },
  over: Record<string, string> = {},
): Record<string, string> {
  return {
    NATS_URL: servers.nats.url,
    SMTP_URL: servers.sink.url,
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    ADMIN_EMAIL: 'admin@example.com',
    ALERT_GROUP_INTERVAL: '0',
    VIGIL_JOBS_FILE: '/nonexistent/jobs.yaml',
    ...over,
  };
}

export async function startHarness(
  env: Record<string, string> = {},
  clock?: Clock,
  extra: Pick<StartNotifierOptions, 'watchdog'> = {},
): Promise<Harness> {
  const nats = await startNats();
  const sink = await startSmtpSink();
  const notifier = await startNotifierService({
    env: notifierEnv({ nats, sink }, env),
    clock,
    handleSignals: false,
    ...extra,
  });
  const nc = await connect({ servers: nats.url });
  const bus = new EventBus(nc, { service: 'test', logger: createLogger({ service: 'test', level: 'silent' }) });
  const collectors = ['notification', 'webhook', 'dlq', 'breaker'].map(
    (p) => [p, collectEvents(nc, `${p}.>`)] as const,
  );
  const events = {
    waitFor: (prefix: string, count?: number, timeoutMs?: number) => {
      const c = collectors.find(([p]) => prefix.startsWith(p));
      if (!c) throw new Error(`no collector for ${prefix}`);
      return c[1].waitFor(prefix, count, timeoutMs);
    },
    stop: () => {
      for (const [, c] of collectors) c.stop();
    },
  };
  return {
    nats,
    sink,
    nc,
    bus,
    events,
    notifier,
    idle: async (stream, durable) => {
      const jsm = await nc.jetstreamManager();
      await waitFor(async () => {
        const info = await jsm.consumers.info(stream, durable);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      });
    },
    followUpsConfirmed: async () => {
      const kv = await nc.jetstream().views.kv(GROUPS_BUCKET);
      await waitFor(async () => {
        for await (const key of await kv.keys()) {
          const e = await kv.get(key);
          if (e?.operation === 'PUT' && (e.json() as { sending?: unknown }).sending !== undefined) return false;
        }
        return true;
      });
    },
    stop: async () => {
      events.stop();
      await notifier.stop();
      await nc.drain();
      await sink.stop();
      await nats.stop();
    },
  };
}

/**
 * A harness for the enclosing describe block: started (with `env`) before its tests, stopped after them. Returns the
 * running harness's getter, for use inside the tests.
 */
export function harnessForSuite(env: Record<string, string> = {}): () => Harness {
  let h: Harness | undefined;
  beforeAll(async () => {
    h = await startHarness(env);
  });
  afterAll(async () => {
    await h?.stop();
  });
  return () => {
    if (!h) throw new Error('the harness is not running: use it inside a test of the describe block');
    return h;
  };
}

export function runData(job: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    runId: `01RUN${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
    job,
    attempt: 3,
    trigger: 'schedule',
    scheduledAt: now,
    finishedAt: now,
    durationMs: 1234,
    status: 'failed',
    error: {
      type: 'ConnectionError',
      message: 'connect ECONNREFUSED 10.0.0.5:443 <script>alert("x")</script>',
      stack: 'ConnectionError: connect ECONNREFUSED 10.0.0.5:443\n    at fetchCompanies (handlers/report.mjs:42:11)',
      class: 'transient',
    },
    stats: { targets: 5, succeeded: 2, failed: 3, skipped: 0 },
    ...over,
  };
}
