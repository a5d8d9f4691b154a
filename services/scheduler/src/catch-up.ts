export interface CatchUpPlan {
  /** The one slot to run now (trigger `catch-up`): the newest missed slot within the window. */
  run?: number;
  /** Slots reported as `job.missed`, with why. */
  missed: { slot: number; reason: string }[];
}

/**
 * After downtime: slots missed within `catchUpMs` of now run once (the newest of them); every other missed slot
 * is reported, never dropped silently. A slot still inside its start deadline (`startDeadlineMs`: a restart of a
 * few seconds) is not missed at all, only late: it runs, whatever the catchUp window.
 */
export function planCatchUp(
  missedSlots: number[],
  nowMs: number,
  catchUpMs: number | undefined,
  startDeadlineMs = 0,
  /** Why the slots were not run at their time, as the reasons say it. */
  cause = 'scheduler was down',
): CatchUpPlan {
  const newest = missedSlots[missedSlots.length - 1];
  const late = newest !== undefined && nowMs - newest < startDeadlineMs;
  const window = Math.max(catchUpMs ?? 0, late ? nowMs - newest : 0);
  const inWindow = missedSlots.filter((s) => nowMs - s <= window);
  const run = window > 0 && inWindow.length > 0 ? inWindow[inWindow.length - 1] : undefined;
  const missed = missedSlots
    .filter((s) => s !== run)
    .map((slot) => ({
      slot,
      reason:
        run !== undefined && nowMs - slot <= (catchUpMs ?? 0)
          ? `${cause}; a newer slot ran as catch-up instead`
          : (catchUpMs ?? 0) > 0
            ? `${cause}; slot older than the catchUp window`
            : `${cause} and the job has no catchUp window`,
    }));
  return { run, missed };
}
