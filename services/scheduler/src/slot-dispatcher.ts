import { type JobDefinition, Subjects, type TimerHandle } from '@vigil/shared';
import { confirmedOccupier, decideStart } from './concurrency.js';
import type { SchedulerContext } from './context.js';
import { type JobState, emptyJobState } from './job-state.js';
import { decodeJson, encodeJson, isWrongRevision, updateJson } from './kv-json.js';
import { publishRequested, publishVerdict } from './publisher.js';
import { slotRunId } from './run-id.js';

type SlotKind = 'schedule' | 'catch-up' | 'missed';
interface SlotRecord {
  state: 'claimed' | 'done';
  by: string;
}

/** One slot of one job on its way to being requested or reported. */
interface DueSlot {
  def: JobDefinition;
  /** The slot's time (clock ms). */
  slot: number;
  runId: string;
  kind: SlotKind;
  reason?: string;
}

/**
 * One due slot, exactly once across replicas: a create-only KV record names the replica that handles it;
 * the others come back after a grace period and publish themselves if it is still not done (the holder
 * died). Either way `Nats-Msg-Id` = runId lets the stream keep a single copy.
 */
export class SlotDispatcher {
  private readonly waiting = new Set<TimerHandle>();
  private stopped = false;
  /** Per job: slots whose dispatch started here and has not finished (NATS away); the last-slot mark stays before them. */
  private readonly unfinished = new Map<string, Set<number>>();
  /** Per job: the newest slot finished here (what the mark moves to once nothing older is unfinished). */
  private readonly newestDone = new Map<string, number>();
  /** Slots this replica claimed, or tried to while KV did not answer: a retry of one is still this replica's. */
  private readonly claims = new Set<string>();

  constructor(private readonly ctx: SchedulerContext) {}

  stop(): void {
    this.stopped = true;
    for (const t of this.waiting) this.ctx.clock.clearTimeout(t);
    this.waiting.clear();
  }

  /**
   * Rejects when the slot could not be handled (NATS away): the slot then stays unfinished, and the job's
   * last-slot mark does not move past it here, until a later dispatch of it (the ticker's retry or its
   * missed report) finishes.
   */
  async dispatch(def: JobDefinition, slot: number, kind: SlotKind, reason?: string): Promise<void> {
    const due: DueSlot = { def, slot, runId: slotRunId(def.name, slot), kind, reason };
    const open = this.unfinished.get(def.name) ?? new Set<number>();
    this.unfinished.set(def.name, open.add(slot));
    const claimed = await this.claim(due.runId);
    if (claimed) await this.handle(due);
    else this.awaitHolder(due);
    open.delete(slot);
  }

  private async claim(runId: string): Promise<boolean> {
    try {
      await this.ctx.kv.slots.create(
        runId,
        encodeJson({ state: 'claimed', by: this.ctx.instance } satisfies SlotRecord),
      );
      this.claims.add(runId);
      return true;
    } catch (err) {
      // taken: by another replica, or by an earlier attempt here whose answer was lost
      if (isWrongRevision(err)) return this.claims.has(runId);
      // KV unreachable: publishing anyway is safe (msg-id de-dup) and better than losing the slot
      this.ctx.log.warn({ err, runId }, 'slot claim failed; publishing without a claim');
      this.claims.add(runId);
      return true;
    }
  }

  /**
   * Another replica holds the slot: after the grace, publish it here unless it is done (the holder died). A
   * take-over NATS keeps from happening is tried again; `failing` says since when it fails (clock ms).
   */
  private awaitHolder(due: DueSlot, failing?: number): void {
    if (this.stopped) return;
    const timer = this.ctx.clock.setTimeout(() => {
      this.waiting.delete(timer);
      void this.takeOverIfAbandoned(due, failing);
    }, this.ctx.defaults.slotGraceMs);
    this.waiting.add(timer);
  }

  private async takeOverIfAbandoned(due: DueSlot, failing?: number) {
    const { def, slot, runId } = due;
    try {
      const rec = decodeJson<SlotRecord>(await this.ctx.kv.slots.get(runId));
      if (rec?.state === 'done') return;
      this.ctx.log.warn({ runId, holder: rec?.by }, 'slot not done by its holder; publishing it here');
      const deadline = def.startDeadline ?? this.ctx.defaults.startDeadlineMs;
      const now = this.ctx.clock.now();
      if (due.kind === 'schedule' && now >= slot + deadline) {
        // past the start deadline: missed, not run late
        const nats = failing === undefined ? '' : ` and NATS was unavailable until ${new Date(now).toISOString()}`;
        const why = `its holder ${rec?.by ?? 'unknown'} did not request it${nats}`;
        const late = `could not be requested before its start deadline (${Math.round(deadline / 1000)}s): ${why}`;
        await this.handle({ ...due, kind: 'missed', reason: late });
      } else await this.handle(due);
    } catch (err) {
      // NATS away: look again after the grace rather than drop the slot
      this.ctx.log.error({ err, runId }, 'slot take-over failed; trying again');
      this.awaitHolder(due, failing ?? this.ctx.clock.now());
    }
  }

  private async handle(due: DueSlot): Promise<void> {
    const { def, slot, runId, kind, reason } = due;
    const { ctx } = this;
    const scheduledAt = new Date(slot).toISOString();
    const trigger = kind === 'catch-up' ? 'catch-up' : 'schedule';
    const known = ctx.runs.values.get(runId);
    if (known) {
      // The slot's run (or verdict) is in the history already: published by a holder that stopped before marking
      // the slot done, or by a retry whose first publish was stored. Publishing it again after the stream's
      // 2-minute duplicate window would store a second copy, and the run would execute twice.
      ctx.log.warn({ runId, job: def.name, status: known.status }, 'slot already published; finishing its bookkeeping');
    } else if (kind === 'missed' && ctx.jobStates.get(def.name)?.paused) {
      // like a live slot of a paused job: skipped without a word (no job.missed, hence no backup either)
      ctx.log.info({ runId, job: def.name }, 'slot missed while down; job is paused, not reported');
    } else if (kind === 'missed') {
      await publishVerdict(
        ctx,
        'missed',
        { runId, job: def.name, trigger: 'schedule', scheduledAt },
        reason ?? 'slot missed',
      );
    } else {
      const state = ctx.jobStates.get(def.name);
      const occupier = await confirmedOccupier(ctx, def.name);
      const active = occupier?.runId;
      // a retry or take-over of this very slot after its job.requested was stored (a publish that timed out
      // on a reconnect, a holder that died before marking the slot done): the occupying run is this one,
      // so publish it again (msg-id de-dup) rather than skip or cancel it. The occupying run's record tells a
      // skip's reason whether it runs or still waits for a runner.
      const decision =
        active === runId
          ? { action: 'run' as const }
          : decideStart(def, state, active, { manual: false, activeRun: occupier?.record, nowMs: ctx.clock.now() });
      if (decision.action === 'skip') {
        if (!decision.silent)
          await publishVerdict(ctx, 'skipped', { runId, job: def.name, trigger, scheduledAt }, decision.reason);
      } else {
        if (decision.action === 'replace') {
          await ctx.bus.publish(
            Subjects.jobCancel(def.name),
            { runId: decision.cancelRunId, job: def.name, reason: `replaced by ${runId} (concurrency replace)` },
            { msgId: `cancel.${decision.cancelRunId}` },
          );
        }
        await publishRequested(ctx, { runId, job: def.name, trigger, scheduledAt: slot, reason });
      }
    }
    await this.markDone(due);
  }

  private async markDone({ def, slot, runId }: DueSlot): Promise<void> {
    const { ctx } = this;
    await ctx.kv.slots.put(runId, encodeJson({ state: 'done', by: ctx.instance } satisfies SlotRecord));
    // synchronously, so that of two slots finishing together the later computed sees the other finished
    this.claims.delete(runId);
    const open = this.unfinished.get(def.name);
    open?.delete(slot);
    const newest = Math.max(this.newestDone.get(def.name) ?? slot, slot);
    this.newestDone.set(def.name, newest);
    // an older slot of the job still unfinished here (neither requested nor reported yet: NATS was away)
    let held: number | undefined;
    for (const s of open ?? []) if (s < newest && (held === undefined || s < held)) held = s;
    await updateJson<JobState>(ctx.kv.jobs, def.name, (prev) => {
      const s = prev ?? emptyJobState();
      // The mark never passes a slot that was neither requested nor reported: catch-up starts after the mark,
      // so a restart before that slot is reported still reports it. (No mark yet: just before that slot.)
      const mark = held === undefined ? newest : s.lastSlotAt === undefined ? held - 1 : undefined;
      if (mark === undefined || (s.lastSlotAt !== undefined && s.lastSlotAt >= mark)) return undefined;
      return { ...s, lastSlotAt: mark };
    });
  }
}
