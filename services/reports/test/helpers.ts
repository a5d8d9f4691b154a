import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLogger,
  makeEnvelope,
  PermanentError,
  systemClock,
  TransientError,
  ValidationError,
} from '@vigil/shared';
import { headers, type NatsConnection } from 'nats';
import type { HandlerContext } from '../src/handler-api.js';
import { type ReportsServiceOptions, startReportsService } from '../src/service.js';

export const serviceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A temp directory holding a jobs.yaml (and any handler modules written next to it). */
export function jobsDir(yaml: string, files: Record<string, string> = {}): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-reports-'));
  const file = path.join(dir, 'jobs.yaml');
  writeFileSync(file, yaml);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return { dir, file };
}

/**
 * What a handler gets from the runner, for calling a handler directly: a run of job `job` with no targets, no
 * secrets, a signal nobody aborts, a silent logger, the runId as correlation id and Vigil's error classes; `over`
 * sets what the test is about.
 */
export function handlerContext(
  over: Partial<HandlerContext> & Pick<HandlerContext, 'job' | 'options'>,
): HandlerContext {
  const runId = over.runId ?? `${over.job}-1`;
  return {
    runId,
    correlationId: runId,
    attempt: 1,
    targets: [],
    baseDir: '.',
    log: createLogger({ service: 'test', level: 'silent' }),
    secrets: { get: async () => '', resolve: async (t) => t },
    signal: new AbortController().signal,
    progress: () => undefined,
    clock: systemClock,
    scheduledAt: new Date().toISOString(),
    timezone: 'UTC',
    errors: { TransientError, PermanentError, ValidationError },
    ...over,
  };
}

/**
 * A runner in this process on `natsUrl` with the jobs of `jobsFile`, silent, on a free port, signals left to the test
 * runner; `env` adds or changes variables.
 */
export function startRunner(
  natsUrl: string,
  jobsFile: string,
  env: Record<string, string> = {},
  opts: Omit<ReportsServiceOptions, 'env' | 'handleSignals'> = {},
) {
  return startReportsService({
    env: { NATS_URL: natsUrl, VIGIL_JOBS_FILE: jobsFile, HTTP_PORT: '0', LOG_LEVEL: 'silent', ...env },
    handleSignals: false,
    ...opts,
  });
}

export interface RequestOptions {
  targets?: string[];
  trigger?: 'schedule' | 'manual' | 'backup' | 'catch-up';
  notBefore?: string;
  /** A forced manual run (`vigil trigger --force`). */
  force?: boolean;
  /** The run's scheduled time (ISO); default now. */
  scheduledAt?: string;
  /** Extra request headers (correlation id, traceparent). */
  headers?: Record<string, string>;
}

/** Publishes `job.requested.<job>` like the scheduler does (Nats-Msg-Id = runId). */
export async function requestRun(nc: NatsConnection, job: string, runId: string, opts: RequestOptions = {}) {
  const data = {
    runId,
    job,
    attempt: 1,
    trigger: opts.trigger ?? 'manual',
    scheduledAt: opts.scheduledAt ?? new Date().toISOString(),
    status: 'requested',
    ...(opts.targets ? { targets: opts.targets } : {}),
    ...(opts.notBefore ? { notBefore: opts.notBefore } : {}),
    ...(opts.force ? { force: true } : {}),
  };
  const env = makeEnvelope('scheduler', `job.requested.${job}`, data);
  const h = headers();
  h.set('Nats-Msg-Id', runId);
  for (const [k, v] of Object.entries(opts.headers ?? {})) h.set(k, v);
  return nc.jetstream().publish(`job.requested.${job}`, new TextEncoder().encode(JSON.stringify(env)), { headers: h });
}

export interface Replica {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** A runner replica as a real process from dist/main.js (so kill -9 means kill -9). */
export function spawnReplica(env: Record<string, string>): Replica {
  const proc = spawn(process.execPath, [path.join(serviceDir, 'dist/main.js')], {
    env: { ...process.env, HTTP_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}
