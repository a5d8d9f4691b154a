import { backoffDelay, type JobDefinition, type TimerHandle, withTimeout } from '@vigil/shared';
import { planCatchUp } from './catch-up.js';
import { MAX_LISTED_MISSED, type Outage, olderSlotsReason, planOutage } from './outage-plan.js';
import type { SchedulerContext } from './context.js';
import { timerTowards } from './long-timer.js';
import { slotRunId } from './run-id.js';
import { JobSchedule } from './schedule.js';
import type { SlotDispatcher } from './slot-dispatcher.js';

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
  /** Per job: an open NATS outage (a slot's publish failed); its slots are settled together once NATS answers. */
  private readonly outages = new Map<string, Outage>();

  constructor(
    private readonly ctx: SchedulerContext,
    private readonly dispatcher: SlotDispatcher,
    /** Resolves once NATS answers again (rejects while it does not); tests without NATS leave it out. */
    private readonly natsAnswers: () => Promise<unknown> = async () => undefined,
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
      const reason = olderSlotsReason(cause, older, missed);
      this.ctx.log.error({ job: def.name, count: older.count, exact: older.exact }, reason);
      await this.dispatcher.dispatch(def, older.first, 'missed', reason);
    }
    for (const m of plan.missed) await this.dispatcher.dispatch(def, m.slot, 'missed', m.reason);
    if (plan.run !== undefined) await this.dispatcher.dispatch(def, plan.run, 'catch-up', `${cause} at this slot`);
  }

  /**
   * NATS may be briefly away (reconnecting) when a slot falls. A slot whose publish fails opens an outage for its
   * job: from then on no slot of the job is published (a publish to a frozen broker is not always lost: nats.js
   * keeps what it sent while reconnecting, and a SIGSTOPped server reads its socket once it runs again, so every
   * retry could be stored late, with the facts of the moment it was sent), until NATS answers again. Then the
   * slots of the whole outage are settled at once (`settleOutage`). Until then the dispatcher keeps the job's
   * last-slot mark before the first of them, so a restart meanwhile reports them through catch-up.
   */
  private async dispatchWithRetry(def: JobDefinition, slot: number): Promise<void> {
    const since = this.ctx.clock.now();
    try {
      await this.dispatcher.dispatch(def, slot, 'schedule');
    } catch (err) {
      const at = { job: def.name, runId: slotRunId(def.name, slot), slot: new Date(slot).toISOString() };
      if (this.stopped) {
        // not marked handled: the next start (or a replica) reports it or catches it up
        this.ctx.log.error({ err, ...at }, 'slot could not be published before the stop');
        return;
      }
      // a slot whose publish was under way when another one opened the outage is in its span already
      if (this.outages.has(def.name)) return;
      this.ctx.log.warn({ err, ...at }, 'slot publish failed; retrying once NATS answers');
      const outage: Outage = { since, after: slot - 1, err, done: 0 };
      this.outages.set(def.name, outage);
      void this.settleOutage(def, outage).catch((e: unknown) =>
        this.ctx.log.error({ err: e, job: def.name }, 'slots of a NATS outage not settled; a restart reports them'),
      );
    }
  }

  /**
   * A job's slots that NATS kept from being requested (from the outage's first one on), once NATS answers:
   * settled together, as catch-up settles slots missed while no scheduler ran (`planCatchUp`): the newest runs
   * once (within its start deadline, or within the job's `catchUp` window; alone and on time it is a plain
   * `schedule` request, its retry), every other one gets `job.missed` through the dispatcher's missed path
   * (msg-id `missed.<runId>`, the run history checked first), all with the same outage window. One plan per
   * outage: a settlement NATS interrupts again is retried with the same facts once something of it went out.
   */
  private async settleOutage(def: JobDefinition, o: Outage): Promise<void> {
    const deadlineMs = def.startDeadline ?? this.ctx.defaults.startDeadlineMs;
    const schedule = new JobSchedule(def);
    let loggedLate = false;
    let attempt = 0;
    let wait = true;
    for (;;) {
      if (wait) {
        const delay = backoffDelay(++attempt, { base: 500, cap: 10_000, jitter: 'none' });
        if (!loggedLate && this.ctx.clock.now() + delay >= o.after + 1 + deadlineMs) {
          loggedLate = true;
          this.ctx.log.error(
            { err: o.err, job: def.name, runId: slotRunId(def.name, o.after + 1) },
            'slot could not be published before its start deadline; it is reported (or caught up) once NATS is back',
          );
        }
        await this.ctx.clock.sleep(delay);
        if (this.stopped) return;
      }
      wait = true;
      try {
        if (o.until === undefined) {
          await this.natsAnswers();
          o.until = this.ctx.clock.now();
        }
        o.plan ??= planOutage(def, schedule, deadlineMs, o, o.until, {
          stored: (slot) => this.ctx.runs?.values.get(slotRunId(def.name, slot)) !== undefined,
          log: this.ctx.log,
        });
        for (; o.done < o.plan.length; o.done++) {
          const step = o.plan[o.done];
          await this.dispatcher.dispatch(def, step.slot, step.kind, step.reason);
        }
      } catch (err) {
        o.err = err;
        // nothing of the plan went out yet: the next try dates the outage's end anew (and plans again)
        if (o.done === 0) Object.assign(o, { until: undefined, plan: undefined });
        if (this.stopped) return;
        this.ctx.log.warn({ err, job: def.name, attempt }, 'slots of a NATS outage not settled yet; retrying');
        continue;
      }
      // slots that fell while the settlement ran (or at its instant): another round at once, NATS answering
      const next = schedule.next(o.until - 1);
      if (next !== undefined && next <= this.ctx.clock.now()) {
        Object.assign(o, { after: o.until - 1, until: this.ctx.clock.now(), plan: undefined, done: 0 });
        attempt = 0;
        wait = false;
        continue;
      }
      this.outages.delete(def.name);
      return;
    }
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
        // NATS is away for this job: the slot is in the open outage's span, settled with it (not published now)
        if (this.outages.has(a.def.name)) return;
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
