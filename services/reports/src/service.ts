import path from 'node:path';
import {
  type Clock,
  createSecretsClient,
  type JobDefinition,
  JobCancelSchema,
  loadJobsFile,
  openKv,
  runService,
  type ServiceHandle,
  vigilMetrics,
} from '@vigil/shared';
import { reportsEnvSchema } from './config.js';
import type { HandlerSecrets } from './handler-api.js';
import { registerBuiltins } from './handlers/builtins.js';
import { HandlerRegistry } from './handlers/registry.js';
import { RunJournal } from './runner/run-journal.js';
import { WorkLoop } from './runner/work-loop.js';

export interface ReportsServiceOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  handleSignals?: boolean;
}

export const IDEMPOTENCY_BUCKET = 'vigil_idempotency';
const DAY_MS = 24 * 60 * 60 * 1000;
const decoder = new TextDecoder();

/** Starts the runner: consumes `job.requested.>`, executes handlers, publishes terminal events. */
export function startReportsService(opts: ReportsServiceOptions = {}): Promise<ServiceHandle> {
  return runService({
    name: 'reports',
    configSchema: reportsEnvSchema,
    env: opts.env,
    clock: opts.clock,
    defaultPort: 8081,
    handleSignals: opts.handleSignals,
    start: async (rt) => {
      const { config, log } = rt;
      const jobsPath = path.resolve(config.VIGIL_JOBS_FILE);
      const jobsFile = await loadJobsFile(jobsPath);
      const jobs = new Map<string, JobDefinition>(Object.entries(jobsFile.jobs));
      const baseDir = path.dirname(jobsPath);
      rt.phase(`jobs file ${jobsPath}: ${jobs.size} job(s)`);

      const client = createSecretsClient(rt.nc, { logger: log });
      const secrets: HandlerSecrets = {
        get: async (name) => (await client.get(name)).value,
        resolve: (text) => client.resolveTemplate(text),
      };
      const journalKv = await openKv(rt.js, IDEMPOTENCY_BUCKET, { ttlMs: DAY_MS, history: 1 });
      const journal = new RunJournal(journalKv, rt.instance.replace(/[^A-Za-z0-9_-]/g, '_'), () => rt.clock.now());
      rt.phase('idempotency journal ready');

      const registry = new HandlerRegistry(baseDir);
      registerBuiltins(registry, { rt, config, jobs: () => [...jobs.values()], secrets: client });

      const loop = new WorkLoop({
        js: rt.js,
        jsm: rt.jsm,
        log,
        clock: rt.clock,
        journal,
        metrics: vigilMetrics(rt.registry),
        secrets,
        jobs: () => jobs,
        baseDir,
        resolveHandler: (def) => registry.resolve(def),
        concurrency: config.RUNNER_CONCURRENCY,
        ackWaitMs: config.RUNNER_ACK_WAIT,
        startedAfterMs: config.RUNNER_STARTED_AFTER,
      });

      const cancels = rt.nc.subscribe('job.cancel.>', {
        callback: (err, msg) => {
          if (err) return;
          try {
            const env = JSON.parse(decoder.decode(msg.data)) as { data?: unknown };
            const c = JobCancelSchema.parse(env.data);
            const here = loop.cancel(c.runId, c.reason);
            log.info({ runId: c.runId, job: c.job, here }, 'cancel requested');
          } catch (e) {
            log.warn({ err: e, subject: msg.subject }, 'ignored an invalid job.cancel message');
          }
        },
      });
      rt.onShutdown(async () => {
        cancels.unsubscribe();
        await loop.stop();
      });
      await loop.start();
      rt.addCheck('runner-consumer', async () => {
        if (!loop.consuming) throw new Error('the runner consumer is being re-created');
      });
      rt.phase(`runner consuming job.requested.> (concurrency ${config.RUNNER_CONCURRENCY})`);
    },
  });
}
