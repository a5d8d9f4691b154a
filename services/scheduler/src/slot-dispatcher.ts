import { type JobDefinition, Subjects, type TimerHandle } from '@vigil/shared';
import { decideStart } from './concurrency.js';
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

/**
 * One due slot, exactly once across replicas: a create-only KV record names the replica that handles it;
 * the others come back after a grace period and publish themselves if it is still not done (the holder
 * died). Either way `Nats-Msg-Id` = runId lets the stream keep a single copy.
 */
export class SlotDispatcher {
  private readonly waiting = new Set<TimerHandle>();

  constructor(private readonly ctx: SchedulerContext) {}

  stop(): void {
    for (const t of this.waiting) this.ctx.clock.clearTimeout(t);
    this.waiting.clear();
  }

  async dispatch(def: JobDefinition, slot: number, kind: SlotKind, reason?: string): Promise<void> {
    const runId = slotRunId(def.name, slot);
    const claimed = await this.claim(runId);
    if (claimed) {
      await this.handle(def, slot, runId, kind, reason);
      return;
    }
    const timer = this.ctx.clock.setTimeout(() => {
      this.waiting.delete(timer);
      void this.takeOverIfAbandoned(def, slot, runId, kind, reason);
    }, this.ctx.defaults.slotGraceMs);
    this.waiting.add(timer);
  }

  private async claim(runId: string): Promise<boolean> {
    try {
      await this.ctx.kv.slots.create(
        runId,
        encodeJson({ state: 'claimed', by: this.ctx.instance } satisfies SlotRecord),
      );
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      // KV unreachable: publishing anyway is safe (msg-id de-dup) and better than losing the slot
      this.ctx.log.warn({ err, runId }, 'slot claim failed; publishing without a claim');
      return true;
    }
  }

  private async takeOverIfAbandoned(def: JobDefinition, slot: number, runId: string, kind: SlotKind, reason?: string) {
    try {
      const rec = decodeJson<SlotRecord>(await this.ctx.kv.slots.get(runId));
      if (rec?.state === 'done') return;
      this.ctx.log.warn({ runId, holder: rec?.by }, 'slot not done by its holder; publishing it here');
      await this.handle(def, slot, runId, kind, reason);
    } catch (err) {
      this.ctx.log.error({ err, runId }, 'slot take-over failed');
    }
  }

  private async handle(
    def: JobDefinition,
    slot: number,
    runId: string,
    kind: SlotKind,
    reason?: string,
  ): Promise<void> {
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
      const active = ctx.occupyingRun(def.name);
      // a retry or take-over of this very slot after its job.requested was stored (a publish that timed out
      // on a reconnect, a holder that died before marking the slot done): the occupying run is this one,
      // so publish it again (msg-id de-dup) rather than skip or cancel it
      const decision =
        active === runId ? { action: 'run' as const } : decideStart(def, state, active, { manual: false });
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
    await this.markDone(def, slot, runId);
  }

  private async markDone(def: JobDefinition, slot: number, runId: string): Promise<void> {
    const { ctx } = this;
    await ctx.kv.slots.put(runId, encodeJson({ state: 'done', by: ctx.instance } satisfies SlotRecord));
    await updateJson<JobState>(ctx.kv.jobs, def.name, (prev) => {
      const s = prev ?? emptyJobState();
      if (s.lastSlotAt !== undefined && s.lastSlotAt >= slot) return undefined;
      return { ...s, lastSlotAt: slot };
    });
  }
}
