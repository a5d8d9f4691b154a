import {
  type Clock,
  isOverdue,
  type JobDefinition,
  loadJobsFile,
  openKv,
  packageVersion,
  runService,
  type ServiceHandle,
  type VigilMetrics,
  vigilMetrics,
  withTimeout,
} from '@vigil/shared';
import { SchedulerApi } from './api.js';
import { activeRunId } from './concurrency.js';
import { BreakerTracker } from './breakers.js';
import { processEnv, type SchedulerConfig, schedulerConfigSchema } from './config.js';
import { BUCKETS, type SchedulerContext } from './context.js';
import { historyCaughtUp, startHistory } from './history.js';
import { registerHttpRoutes } from './http-routes.js';
import type { JobState } from './job-state.js';
import { JobsSource } from './jobs-source.js';
import { LiveMap } from './live-map.js';
import { addSchedulerEndpoints } from './nats-endpoints.js';
import type { RunRecord } from './run-record.js';
import { JobSchedule } from './schedule.js';
import { SlotDispatcher } from './slot-dispatcher.js';
import { Ticker } from './ticker.js';
import { startTriggerConsumer } from './triggers.js';
import { Watchdogs } from './watchdogs.js';

export interface StartSchedulerOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  handleSignals?: boolean;
  logDestination?: Parameters<typeof runService>[0]['logDestination'];
}

export const SCHEDULER_VERSION = packageVersion(import.meta.url);
const DAY = 86_400_000;
const HISTORY_CATCH_UP_TIMEOUT_MS = 15_000;

/** The scheduler: slots exactly once across replicas, catch-up, watchdogs, manual triggers, run history, API. */
export function startSchedulerService(opts: StartSchedulerOptions = {}): Promise<ServiceHandle<SchedulerConfig>> {
  return runService({
    name: 'scheduler',
    version: SCHEDULER_VERSION,
    configSchema: schedulerConfigSchema,
    env: opts.env ?? processEnv(),
    defaultPort: 8080,
    handleSignals: opts.handleSignals,
    clock: opts.clock,
    logDestination: opts.logDestination,
    // a missing or invalid jobs file is said at once, even while NATS is unreachable
    preflight: async (config) => {
      await loadJobsFile((config as SchedulerConfig).VIGIL_JOBS_FILE);
    },
    start: async (rt) => {
      const config = rt.config as SchedulerConfig;
      const source = await JobsSource.load(config.VIGIL_JOBS_FILE, rt.log, () => rt.clock.now());
      rt.phase(`jobs file ${config.VIGIL_JOBS_FILE}: ${Object.keys(source.get().jobs).length} jobs`);

      const [runsKv, jobsKv, slotsKv] = await Promise.all([
        openKv(rt.js, BUCKETS.runs, { ttlMs: 7 * DAY }),
        openKv(rt.js, BUCKETS.jobs),
        openKv(rt.js, BUCKETS.slots, { ttlMs: DAY }),
      ]);
      const runs = new LiveMap<RunRecord>(runsKv, rt.log, BUCKETS.runs);
      const jobStates = new LiveMap<JobState>(jobsKv, rt.log, BUCKETS.jobs);
      const ctx: SchedulerContext = {
        clock: rt.clock,
        log: rt.log,
        bus: rt.bus,
        instance: rt.instance,
        metrics: vigilMetrics(rt.registry),
        kv: { runs: runsKv, jobs: jobsKv, slots: slotsKv },
        runs,
        jobStates,
        jobs: () => source.get(),
        jobsFile: () => source.status(),
        // parseJobsFile's map has no prototype: a name from a URL or an event never finds `constructor`...
        job: (name) => source.get().jobs[name],
        occupyingRun: (job, exclude) =>
          activeRunId(
            jobStates.get(job),
            runs,
            (run) => isOverdue(run, source.get().jobs[run.job], ctx.defaults, rt.clock.now()),
            rt.clock.now(),
            exclude,
          ),
        defaults: {
          startDeadlineMs: config.SCHEDULER_START_DEADLINE,
          timeoutMs: config.SCHEDULER_DEFAULT_TIMEOUT,
          slotGraceMs: config.SCHEDULER_SLOT_GRACE,
        },
      };
      const watchdogs = new Watchdogs(ctx);
      runs.onChange((key, value) => watchdogs.observe(value, key));
      // The runners only know the successes they saw since they started; the job state in KV knows them all, so
      // "no success for N hours" alerts still work after every runner restarted.
      jobStates.onChange((job, state) => {
        if (state?.lastSuccessAt) ctx.metrics?.jobLastSuccess.set({ job }, Date.parse(state.lastSuccessAt) / 1000);
      });
      await Promise.all([runs.start(), jobStates.start()]);
      rt.phase(`run history loaded: ${runs.values.size} runs, ${jobStates.values.size} job states`);

      const history = await startHistory(ctx);
      await startTriggerConsumer(ctx);
      rt.phase('consuming job events (history) and job.trigger.>');
      // catch-up decides forbid/replace from the run history: fold what happened while no scheduler ran first
      // (e.g. a run that finished meanwhile must not look still running and get the catch-up slot skipped)
      if (!(await historyCaughtUp(ctx, history, HISTORY_CATCH_UP_TIMEOUT_MS)))
        rt.log.warn(
          { timeoutMs: HISTORY_CATCH_UP_TIMEOUT_MS },
          'run history backlog not folded in time; catching up anyway',
        );
      rt.phase('run history backlog folded');

      const dispatcher = new SlotDispatcher(ctx);
      // after a NATS outage: NATS answers, and what it stored late (publishes sent while it was frozen) is folded
      const natsAnswers = async () => {
        const jsm = await withTimeout(ctx.bus.jetstreamManager(), 2_000);
        await withTimeout(jsm.getAccountInfo(), 2_000);
        await historyCaughtUp(ctx, history, 5_000);
      };
      const ticker = new Ticker(ctx, dispatcher, natsAnswers);
      // armed from where catch-up stopped, not from a later now: no slot falls between the two
      const coveredTo = await ticker.catchUp(source.get().jobs);
      ticker.sync(source.get().jobs, coveredTo);
      source.onChange((file) => ticker.sync(file.jobs));
      exportExpectedIntervals(ctx.metrics, source.get().jobs, rt.clock.now());
      source.onChange((file) => exportExpectedIntervals(ctx.metrics, file.jobs, rt.clock.now()));
      if (config.VIGIL_JOBS_WATCH) source.watchFile();
      if (opts.handleSignals !== false) {
        const onHup = () => void source.reload('SIGHUP');
        process.on('SIGHUP', onHup);
        rt.onShutdown(() => {
          process.off('SIGHUP', onHup);
        });
      }
      rt.phase('schedules armed');

      // system health lists the breakers the live instances report; events only for instances too old to report them
      const breakers = new BreakerTracker(rt.js, rt.log);
      await breakers.start();
      const api = new SchedulerApi(ctx, ticker, rt.nc, breakers);
      registerHttpRoutes(rt.http, api, () => config.VIGIL_API_TOKEN);
      addSchedulerEndpoints(rt.natsService, api, rt.log);

      rt.onShutdown(async () => {
        // a slot firing as the signal came is published before NATS drains, not lost to a timeout
        await ticker.stop();
        dispatcher.stop();
        watchdogs.stop();
        source.stop();
        breakers.stop();
        runs.stop();
        jobStates.stop();
      });
    },
  });
}

/**
 * vigil_job_expected_interval_seconds per scheduled job, so the "no recent success" alert waits as long as the
 * job's own schedule says (a weekly job is not late after a day); manual-only and removed jobs have none.
 */
function exportExpectedIntervals(metrics: VigilMetrics | undefined, jobs: Record<string, JobDefinition>, now: number) {
  if (!metrics) return;
  metrics.jobExpectedInterval.reset();
  for (const [name, def] of Object.entries(jobs)) {
    const gap = new JobSchedule(def).longestGap(now);
    if (gap !== undefined) metrics.jobExpectedInterval.set({ job: name }, gap / 1000);
  }
}
