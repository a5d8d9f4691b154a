import type { TimerHandle } from '@vigil/shared';
import { planBackup } from './backup-plan.js';
import { storedRun } from './concurrency.js';
import type { SchedulerContext } from './context.js';
import { runDeadlines } from './deadlines.js';
import { timerTowards } from './long-timer.js';
import { publishRequested, publishVerdict } from './publisher.js';
import { backupRunId } from './run-id.js';
import { hasStarted, isActive, type RunRecord, TERMINAL } from './run-record.js';

type Kind = 'missed' | 'stuck' | 'backup';

const WATCHDOG_RETRY_MS = 1_000;

/**
 * Every replica watches every run (from the live copy of `vigil_runs`) and keeps one timer per pending
 * deadline, so a deadline is noticed when it passes even if the replica that requested the run is gone.
 * Verdicts carry a msg-id per (verdict, run): said by several replicas, stored once.
 */
export class Watchdogs {
  private readonly timers = new Map<string, { at: number; handle: TimerHandle }>();
  private stopped = false;
  private readonly backups = new Set<string>();

  constructor(private readonly ctx: SchedulerContext) {}

  /** Called for every change of a run record (and once per record at start). */
  observe(run: RunRecord | undefined, runId: string): void {
    if (this.stopped) return;
    if (!run) {
      this.clearRun(runId);
      return;
    }
    const def = this.ctx.job(run.job);
    const d = runDeadlines(run, def, this.ctx.defaults);
    const started = hasStarted(run);
    if (run.status === 'requested' && !started) this.set(runId, 'missed', d.startBy);
    else this.clear(runId, 'missed');
    if (isActive(run)) this.set(runId, 'stuck', d.stuckAt);
    else this.clear(runId, 'stuck');
    if (d.backupAt !== undefined && !run.runId.includes('.backup') && run.status !== 'succeeded')
      this.set(runId, 'backup', d.backupAt);
    else this.clear(runId, 'backup');
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) this.ctx.clock.clearTimeout(t.handle);
    this.timers.clear();
  }

  private set(runId: string, kind: Kind, at: number): void {
    const key = `${kind}:${runId}`;
    const existing = this.timers.get(key);
    if (existing?.at === at) return;
    if (existing) {
      this.ctx.clock.clearTimeout(existing.handle);
      this.timers.delete(key);
    }
    // long past (e.g. a record from days ago found at start): the run's fate was decided back then
    if (at - this.ctx.clock.now() < -24 * 3_600_000) return;
    this.arm(key, runId, kind, at);
  }

  /** One timer towards `at` (in steps when it is far: see timerTowards). */
  private arm(key: string, runId: string, kind: Kind, at: number): void {
    const handle = timerTowards(
      this.ctx.clock,
      at,
      () => {
        this.timers.delete(key);
        this.fire(runId, kind).catch((err: unknown) => {
          // NATS away (e.g. reconnecting): a verdict must not be dropped; fire() re-reads the record and the
          // verdict's msg-id dedupes, so trying again is safe.
          this.ctx.log.error({ err, runId, kind }, 'watchdog failed; retrying in 1s');
          if (!this.stopped && !this.timers.has(key)) this.set(runId, kind, this.ctx.clock.now() + WATCHDOG_RETRY_MS);
        });
      },
      () => {
        if (!this.stopped && this.timers.get(key)?.handle === handle) this.arm(key, runId, kind, at);
      },
    );
    this.timers.set(key, { at, handle });
  }

  private clear(runId: string, kind: Kind): void {
    const key = `${kind}:${runId}`;
    const t = this.timers.get(key);
    if (t) {
      this.ctx.clock.clearTimeout(t.handle);
      this.timers.delete(key);
    }
  }

  private clearRun(runId: string): void {
    for (const kind of ['missed', 'stuck', 'backup'] as const) this.clear(runId, kind);
  }

  /**
   * The run of the same job that `run` has been waiting behind since it could start (`from`): under forbid or
   * replace a runner executes one run of a job at a time, so a run requested while another one runs stays queued
   * until that one ends. `running`: it still runs (`overdue` once past its own timeout: stuck); else `freeAt` is
   * when the last such run ended. None for `allow` jobs, or when no run of the job ran meanwhile.
   */
  private waitedBehind(
    run: RunRecord,
    from: number,
  ): { run: RunRecord; running: boolean; overdue: boolean; freeAt: number } | undefined {
    const def = this.ctx.job(run.job);
    if (!def || def.concurrency === 'allow') return undefined;
    const now = this.ctx.clock.now();
    let found: { run: RunRecord; running: boolean; overdue: boolean; freeAt: number } | undefined;
    for (const other of this.ctx.runs.values.values()) {
      if (other.job !== run.job || other.runId === run.runId || other.startedAt === undefined) continue;
      const started = Date.parse(other.startedAt);
      if (!(started <= now)) continue;
      const running = other.status === 'started' || other.status === 'stuck';
      if (running) {
        const overdue = other.status === 'stuck' || now >= runDeadlines(other, def, this.ctx.defaults).stuckAt;
        // a run still running wins over one that ended; of two running, the one not overdue (still legitimately busy)
        if (!found?.running || (found.overdue && !overdue)) found = { run: other, running, overdue, freeAt: now };
        continue;
      }
      if (!TERMINAL.has(other.status)) continue;
      // the runner's finishedAt, else when its end was folded
      const ended = Date.parse(other.finishedAt ?? other.updatedAt);
      if (!(ended > from)) continue;
      if (!found || (!found.running && ended > found.freeAt))
        found = { run: other, running: false, overdue: false, freeAt: ended };
    }
    return found;
  }

  private async fire(runId: string, kind: Kind): Promise<void> {
    const { ctx } = this;
    // read the stored record, not the live copy: the freshest word on whether the run started
    const run = (await storedRun(ctx, runId)) ?? ctx.runs.get(runId);
    if (!run) return;
    const def = ctx.job(run.job);
    // a timer that fired early (or a deadline moved by a reload) must not give a verdict before its time
    const d = runDeadlines(run, def, ctx.defaults);
    const deadline = def?.startDeadline ?? ctx.defaults.startDeadlineMs;
    // a run queued behind another run of its job (forbid/replace: a runner takes one run of the job at a time)
    // waits for the job, not for a runner: its start deadline counts from when the job became free
    const wait =
      kind === 'missed' && run.status === 'requested' && !hasStarted(run)
        ? this.waitedBehind(run, d.startFrom)
        : undefined;
    const now = ctx.clock.now();
    if (wait?.running && !wait.overdue) {
      if (!this.stopped) this.set(runId, kind, Math.max(d.startBy, now + deadline));
      ctx.log.info({ runId, behind: wait.run.runId }, 'run waits behind another run of its job; no start deadline yet');
      return;
    }
    const startBy = wait && !wait.running ? Math.max(d.startBy, wait.freeAt + deadline) : d.startBy;
    const due = kind === 'missed' ? startBy : kind === 'stuck' ? d.stuckAt : d.backupAt;
    if (due !== undefined && due > now) {
      if (!this.stopped) this.set(runId, kind, due);
      return;
    }
    if (kind === 'missed') {
      if (run.status !== 'requested' || hasStarted(run)) return;
      const from = wait
        ? wait.running
          ? `its request: it waits behind run ${wait.run.runId} of the job (concurrency ${def?.concurrency ?? 'forbid'}), ${wait.run.status === 'stuck' ? 'stuck' : 'running'} past its timeout`
          : `the end of run ${wait.run.runId}, which it waited behind`
        : d.startFrom > Date.parse(run.scheduledAt)
          ? 'its request'
          : 'its slot';
      await publishVerdict(ctx, 'missed', run, `not started within ${Math.round(deadline / 1000)}s of ${from}`);
    } else if (kind === 'stuck') {
      if (!isActive(run)) return;
      const timeout = def?.timeout ?? ctx.defaults.timeoutMs;
      await publishVerdict(ctx, 'stuck', run, `still running after ${Math.round(timeout / 1000)}s (timeout)`);
    } else {
      if (!def) return;
      const jobTargets = Array.isArray(def.targets) ? (def.targets as string[]) : undefined;
      const plan = planBackup(run, ctx.runs.values.values(), jobTargets);
      if (plan.kind === 'none') {
        ctx.log.info({ runId, why: plan.why }, 'no backup run needed');
        return;
      }
      const backupId = backupRunId(runId);
      // a later change of the original record re-arms this check; one backup per run is enough
      if (ctx.runs.get(backupId) || this.backups.has(backupId)) return;
      this.backups.add(backupId);
      ctx.log.warn({ runId, targets: plan.targets ?? 'all', why: plan.why }, 'requesting backup run');
      try {
        await publishRequested(ctx, {
          runId: backupId,
          job: run.job,
          trigger: 'backup',
          // The slot it backs up: the backup covers that day (coverage, report dates), even after midnight. Its
          // own start deadline counts from when it is requested.
          scheduledAt: Date.parse(run.scheduledAt),
          targets: plan.targets,
          reason: `backup for ${runId}: ${plan.why}`,
        });
      } catch (err) {
        // not published (as far as we know): the retry must try again; the msg-id keeps a stored copy single
        this.backups.delete(backupId);
        throw err;
      }
    }
  }
}
