import { backoffDelay, classify, errorMessage, type JobDefinition, type TimerHandle, withTimeout } from '@vigil/shared';
import { planCatchUp } from './catch-up.js';
import type { SchedulerContext } from './context.js';
import { timerTowards } from './long-timer.js';
import { slotRunId } from './run-id.js';
import { JobSchedule } from './schedule.js';
import type { SlotDispatcher } from './slot-dispatcher.js';

/** Missed slots reported one by one after downtime; older ones get one job.missed that names how many. */
export const MAX_LISTED_MISSED = 100;

interface Armed {
  key: string;
  schedule: JobSchedule;
  def: JobDefinition;
  timer?: TimerHandle;
  nextAt?: number;
}

/** One timer per scheduled job, at its next slot; slots go to the dispatcher. */
export class Ticker {
  private readonly armed = new Map<string, Armed>();
  private stopped = false;
  /** Slots being published right now: a stop waits for them while NATS is still there. */
  private readonly publishing = new Set<Promise<void>>();
  /** Per job: slots past their start deadline that NATS kept from being requested (true once settled). */
  private readonly unrequested = new Map<string, Map<number, boolean>>();

  constructor(
    private readonly ctx: SchedulerContext,
    private readonly dispatcher: SlotDispatcher,
  ) {}

  /**
   * Arms every scheduled job; jobs whose schedule did not change keep their timer (reload-safe). A job newly
   * armed gets its first slot strictly after `after` (default: just before now); at start that is the instant
   * catch-up covered up to, so a slot falling while catch-up ran is still dispatched (at once, late).
   */
  sync(jobs: Record<string, JobDefinition>, after?: number): void {
    for (const [name, a] of this.armed) {
      const def = jobs[name];
      if (!def || scheduleKey(def) !== a.key) {
        if (a.timer) this.ctx.clock.clearTimeout(a.timer);
        this.armed.delete(name);
      } else a.def = def;
    }
    for (const def of Object.values(jobs)) {
      if (this.armed.has(def.name)) continue;
      const schedule = new JobSchedule(def);
      if (!schedule.scheduled) continue;
      const a: Armed = { key: scheduleKey(def), schedule, def };
      this.armed.set(def.name, a);
      // a slot falling exactly now is the ticker's (catch-up covers strictly earlier ones)
      this.arm(a, after ?? this.ctx.clock.now() - 1);
    }
  }

  nextRunAt(job: string): number | undefined {
    return this.armed.get(job)?.nextAt;
  }

  /**
   * Slots that fell while no scheduler ran: one catch-up run within `catchUp`, the rest job.missed. Returns
   * the instant it covered up to (inclusive): `sync` arms the ticker from there.
   */
  async catchUp(jobs: Record<string, JobDefinition>): Promise<number> {
    const now = this.ctx.clock.now();
    for (const def of Object.values(jobs)) {
      const last = this.ctx.jobStates.get(def.name)?.lastSlotAt;
      const schedule = new JobSchedule(def);
      if (last === undefined || !schedule.scheduled) continue;
      // the slot due right now belongs to the ticker, not to catch-up; bounded work however long the outage
      await this.settleSlotsNotRun(def, schedule, last, now, 'scheduler was down');
    }
    return now - 1;
  }

  /**
   * The slots after `last` and before `now` that no scheduler ran: one catch-up run within `catchUp`, the rest
   * job.missed (`cause` says why, e.g. the scheduler was down), slots past the newest MAX_LISTED_MISSED in one.
   */
  private async settleSlotsNotRun(
    def: JobDefinition,
    schedule: JobSchedule,
    last: number,
    now: number,
    cause: string,
  ): Promise<void> {
    const { slots: missed, older } = schedule.span(last, now - 1, MAX_LISTED_MISSED);
    if (missed.length === 0) return;
    const deadlineMs = def.startDeadline ?? this.ctx.defaults.startDeadlineMs;
    const plan = planCatchUp(missed, now, def.catchUp, deadlineMs, cause);
    this.ctx.log.warn(
      { job: def.name, missed: missed.length + (older?.count ?? 0), catchUp: plan.run !== undefined },
      `slots missed: ${cause}`,
    );
    if (older) {
      // too many to report one by one: one job.missed (on the oldest of them) names how many and when
      const iso = (ms: number) => new Date(ms).toISOString();
      const range = older.exact
        ? `from ${iso(older.first)} to ${iso(older.last ?? older.first)}`
        : `from ${iso(older.first)} to before ${iso(missed[0])}`;
      const reason =
        `${cause}; ${older.exact ? '' : 'about '}${older.count} older slots ${range} were not run ` +
        `(not reported one by one: only the newest ${missed.length} are)`;
      this.ctx.log.error({ job: def.name, count: older.count, exact: older.exact }, reason);
      await this.dispatcher.dispatch(def, older.first, 'missed', reason);
    }
    for (const m of plan.missed) await this.dispatcher.dispatch(def, m.slot, 'missed', m.reason);
    if (plan.run !== undefined) await this.dispatcher.dispatch(def, plan.run, 'catch-up', `${cause} at this slot`);
  }

  /**
   * NATS may be briefly away (reconnecting) when a slot falls: retry until the slot's start deadline. A slot
   * still not requested by then is not run late: it is handled like a slot missed while no scheduler ran (see
   * `settleUnrequested`), retried until NATS answers, so it is reported once NATS is back. Until then the
   * dispatcher keeps the job's last-slot mark before it, so a restart meanwhile reports it through catch-up.
   */
  private async dispatchWithRetry(def: JobDefinition, slot: number): Promise<void> {
    const deadlineMs = def.startDeadline ?? this.ctx.defaults.startDeadlineMs;
    const until = slot + deadlineMs;
    const at = { job: def.name, runId: slotRunId(def.name, slot), slot: new Date(slot).toISOString() };
    let lastErr: unknown;
    for (let attempt = 0; ; attempt++) {
      // only a failed slot turns missed: one that fires late (it fell while catch-up ran) is still requested
      const missed = attempt > 0 && this.ctx.clock.now() >= until;
      try {
        if (!missed) await this.dispatcher.dispatch(def, slot, 'schedule');
        else await this.settleUnrequested(def, slot, deadlineMs, lastErr);
        return;
      } catch (err) {
        lastErr = err;
        const delay = backoffDelay(attempt + 1, { base: 500, cap: 10_000, jitter: 'none' });
        if (this.stopped) {
          // not marked handled: the next start (or a replica) reports it or catches it up
          this.ctx.log.error({ err, ...at }, 'slot could not be published before the stop');
          return;
        }
        if (!missed && this.ctx.clock.now() + delay >= until)
          this.ctx.log.error(
            { err, ...at },
            'slot could not be published before its start deadline; it is reported (or caught up) once NATS is back',
          );
        else this.ctx.log.warn({ err, ...at, attempt }, 'slot publish failed; retrying');
        await this.ctx.clock.sleep(delay);
      }
    }
  }

  /**
   * A slot that could not be requested before its start deadline, once NATS answers: what catch-up does with
   * the slots missed while no scheduler ran (`planCatchUp`, over the job's slots in this state): the newest of
   * them within the job's `catchUp` window runs once (trigger `catch-up`); every other one is reported through
   * the dispatcher's missed path (`job.missed`, msg-id `missed.<runId>`, the run history checked first), with
   * a reason that names the outage. Rejects while NATS is still away (the slot stays in the plan).
   */
  private async settleUnrequested(def: JobDefinition, slot: number, deadlineMs: number, err: unknown) {
    // every such slot of the job until all are settled, the settled ones too: one catch-up run, not one each
    const slots = this.unrequested.get(def.name) ?? new Map<number, boolean>();
    this.unrequested.set(def.name, slots.set(slot, slots.get(slot) ?? false));
    const now = this.ctx.clock.now();
    const plan = planCatchUp(
      [...slots.keys()].sort((a, b) => a - b),
      now,
      def.catchUp,
      deadlineMs,
    );
    const until = new Date(now).toISOString();
    const code = (err as { code?: unknown } | undefined)?.code;
    const outage =
      classify(err) === 'transient' || code === 'DISCONNECT'
        ? `NATS was unavailable until ${until}`
        : `publishing failed until ${until} (${errorMessage(err)})`;
    const at = { job: def.name, runId: slotRunId(def.name, slot), slot: new Date(slot).toISOString() };
    if (plan.run === slot) {
      await this.dispatcher.dispatch(def, slot, 'catch-up', `not requested at its slot: ${outage}`);
      this.ctx.log.warn(at, 'slot that could not be requested in time runs as catch-up');
    } else {
      const instead =
        plan.run !== undefined && now - slot <= (def.catchUp ?? 0) ? '; a newer slot runs as catch-up instead' : '';
      const deadline = `${Math.round(deadlineMs / 1000)}s`;
      await this.dispatcher.dispatch(
        def,
        slot,
        'missed',
        `could not be requested before its start deadline (${deadline}): ${outage}${instead}`,
      );
      this.ctx.log.warn(at, 'slot reported missed: it could not be requested before its start deadline');
    }
    slots.set(slot, true);
    if ([...slots.values()].every(Boolean) && this.unrequested.get(def.name) === slots)
      this.unrequested.delete(def.name);
  }

  /** No slot fires from now on; resolves once the slots already firing are published (at most `waitMs`, real time). */
  async stop(waitMs = 5_000): Promise<void> {
    this.stopped = true;
    for (const a of this.armed.values()) if (a.timer) this.ctx.clock.clearTimeout(a.timer);
    this.armed.clear();
    if (this.publishing.size === 0) return;
    // past the bound the shutdown goes on: such a slot is not marked done, so catch-up or a replica takes it
    await withTimeout(Promise.allSettled([...this.publishing]), waitMs).catch(() => undefined);
  }

  private track(publishing: Promise<void>): void {
    const tracked = publishing.catch((err: unknown) =>
      this.ctx.log.error({ err }, 'slots of a stalled scheduler not settled; a restart reports them (catch-up)'),
    );
    this.publishing.add(tracked);
    void tracked.finally(() => this.publishing.delete(tracked));
  }

  private arm(a: Armed, after: number): void {
    if (this.stopped) return;
    const next = a.schedule.next(after);
    a.nextAt = next;
    if (next === undefined) return;
    a.timer = timerTowards(
      this.ctx.clock,
      next,
      () => {
        if (this.armed.get(a.def.name) !== a) return;
        const now = this.ctx.clock.now();
        const late = now - next > (a.def.startDeadline ?? this.ctx.defaults.startDeadlineMs);
        // Fired past the slot's start deadline: this process was stalled (a paused VM, a frozen container, a
        // SIGSTOP) and every slot since is late. They are settled as after downtime (one catch-up run within
        // `catchUp`, the rest job.missed), never run late one by one in a burst.
        this.arm(a, late ? now - 1 : next);
        const publishing = late
          ? this.settleSlotsNotRun(a.def, a.schedule, next - 1, now, 'scheduler was stalled (its timers fired late)')
          : this.dispatchWithRetry(a.def, next);
        this.track(publishing);
      },
      () => this.arm(a, after),
    );
  }
}

function scheduleKey(def: JobDefinition): string {
  return JSON.stringify([def.schedule, def.every, def.timezone]);
}
