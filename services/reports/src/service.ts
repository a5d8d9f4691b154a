import path from 'node:path';
import {
  type Clock,
  createSecretsClient,
  JobCancelSchema,
  jetStreamPublisher,
  loadJobsFile,
  openKv,
  runService,
  type RunServiceOptions,
  type ServiceHandle,
  vigilMetrics,
} from '@vigil/shared';
import { reportsEnvSchema } from './config.js';
import type { HandlerSecrets } from './handler-api.js';
import { registerBuiltins } from './handlers/builtins.js';
import { HandlerRegistry } from './handlers/registry.js';
import { JobsWatch } from './jobs-watch.js';
import { RunJournal } from './runner/run-journal.js';
import { WorkLoop } from './runner/work-loop.js';

export interface ReportsServiceOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  handleSignals?: boolean;
  /** Where log lines go (tests read them); default stdout. */
  logDestination?: RunServiceOptions<typeof reportsEnvSchema>['logDestination'];
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
    logDestination: opts.logDestination,
    // a missing or invalid jobs file is said at once, even while NATS is unreachable
    preflight: async (config) => {
      await loadJobsFile(path.resolve(config.VIGIL_JOBS_FILE));
    },
    start: async (rt) => {
      const { config, log } = rt;
      const jobsPath = path.resolve(config.VIGIL_JOBS_FILE);
      const jobsFile = await loadJobsFile(jobsPath);
      const jobs = new JobsWatch(jobsPath, jobsFile.jobs, log);
      jobs.start();
      rt.onShutdown(() => jobs.stop());
      const baseDir = path.dirname(jobsPath);
      rt.phase(`jobs file ${jobsPath}: ${jobs.get().size} job(s)`);

      const client = createSecretsClient(rt.nc, { logger: log });
      const secrets: HandlerSecrets = {
        get: async (name, opts) => (await client.get(name, opts)).value,
        resolve: (text) => client.resolveTemplate(text),
      };
      const journalKv = await openKv(rt.js, IDEMPOTENCY_BUCKET, { ttlMs: DAY_MS, history: 1 });
      const journal = new RunJournal(journalKv, rt.instance.replace(/[^A-Za-z0-9_-]/g, '_'), () => rt.clock.now());
      rt.phase('idempotency journal ready');

      const registry = new HandlerRegistry(baseDir);
      registerBuiltins(registry, { rt, config, jobs: () => [...jobs.get().values()], secrets: client });

      // Pre-execution check of every job's handler (unknown handler, module that does not load): logged at
      // start so a broken job is visible before its first run; it fails only its own runs.
      const problems = await Promise.all(
        [...jobs.get().values()].map((def) =>
          Promise.resolve(registry.resolve(def)).then(
            () => undefined,
            (err: unknown) => ({ job: def.name, handler: def.handler, error: (err as Error).message }),
          ),
        ),
      );
      for (const p of problems) if (p) log.error(p, `job ${p.job}: handler ${p.handler} is not usable`);
      rt.phase(`handlers checked: ${problems.filter((p) => !p).length} ok, ${problems.filter(Boolean).length} failing`);

      const loop = new WorkLoop({
        nc: rt.nc,
        publisher: jetStreamPublisher(rt.nc),
        jsm: rt.jsm,
        log,
        clock: rt.clock,
        journal,
        metrics: vigilMetrics(rt.registry),
        secrets,
        jobs: (name) => jobs.find(name),
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
      // A reconnect may mean the broker restarted from disk with older consumer state (see WorkLoop).
      void (async () => {
        for await (const s of rt.nc.status()) {
          if (s.type === 'disconnect') loop.brokerLost();
          else if (s.type === 'reconnect') loop.suspectRepeats();
        }
      })().catch(() => undefined);
      rt.addCheck('runner-consumer', async () => {
        if (!loop.consuming) throw new Error('the runner consumer is being re-created');
      });
      rt.phase(`runner consuming job.requested.> (concurrency ${config.RUNNER_CONCURRENCY})`);
    },
  });
}
