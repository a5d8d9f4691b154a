import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, EventBus, type JobRun, ManualClock } from '@vigil/shared';
import { apiClient, collectEvents, type EventCollector, startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { startSchedulerService } from '../src/service.js';

export const TOKEN = 'test-token';

/** One JSON log line of a scheduler started by the harness; `scheduler` numbers the instances (0 = the first). */
export interface CapturedLog {
  scheduler: number;
  level: string;
  msg: string;
  [field: string]: any;
}

export interface Harness {
  nats: TestServer;
  nc: NatsConnection;
  bus: EventBus;
  events: EventCollector;
  clock: ManualClock;
  jobsFile: string;
  env: Record<string, string>;
  service: Awaited<ReturnType<typeof startSchedulerService>>;
  /** Every scheduler's log lines at LOG_LEVEL (default `error`), in order. */
  logs: CapturedLog[];
  /** Starts another scheduler instance (same NATS, same file) with its own clock. */
  startScheduler(clock: ManualClock): ReturnType<typeof startSchedulerService>;
  api(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: any }>;
  /** Publishes a runner event (job.started / succeeded / partial ...) for a run. */
  runner(verb: string, run: Partial<JobRun> & { runId: string; job: string }): Promise<void>;
  stop(): Promise<void>;
}

/** Real NATS, the real scheduler in-process on a free port, time on a ManualClock. */
export async function startHarness(
  jobsYaml: string,
  startAt: string,
  extraEnv: Record<string, string> = {},
  makeClock: (startMs: number) => ManualClock = (startMs) => new ManualClock(startMs),
): Promise<Harness> {
  const nats = await startNats();
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-scheduler-'));
  const jobsFile = path.join(dir, 'jobs.yaml');
  writeFileSync(jobsFile, jobsYaml);
  const env: Record<string, string> = {
    NATS_URL: nats.url,
    HTTP_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    VIGIL_API_TOKEN: TOKEN,
    VIGIL_JOBS_FILE: jobsFile,
    VIGIL_JOBS_WATCH: 'false',
    ...extraEnv,
  };
  const clock = makeClock(new Date(startAt).getTime());
  const logs: CapturedLog[] = [];
  let started = 0;
  const startScheduler = (c: ManualClock) => {
    const scheduler = started++;
    const logDestination = {
      write(line: string) {
        try {
          logs.push({ ...JSON.parse(line), scheduler });
        } catch {
          // not JSON: only printed
        }
        process.stdout.write(line);
      },
    };
    return startSchedulerService({ env, clock: c, handleSignals: false, logDestination });
  };
  const service = await startScheduler(clock);
  const nc = await connect({ servers: nats.url });
  const bus = new EventBus(nc, { service: 'test-runner', logger: createLogger({ service: 'test', level: 'silent' }) });
  const events = collectEvents(nc, 'job.>');
  const api: Harness['api'] = apiClient(service.url, TOKEN);
  const runner: Harness['runner'] = async (verb, run) => {
    const data = {
      attempt: 1,
      trigger: 'schedule',
      scheduledAt: new Date(clock.now()).toISOString(),
      status: verb,
      ...run,
    } as JobRun;
    await bus.publish(`job.${verb}.${run.job}`, data, { time: new Date(clock.now()) });
  };
  return {
    nats,
    nc,
    bus,
    events,
    clock,
    jobsFile,
    env,
    service,
    logs,
    startScheduler,
    api,
    runner,
    stop: async () => {
      events.stop();
      await service.stop();
      await nc.close();
      await nats.stop();
    },
  };
}
