import type { Clock, TimerHandle } from '@vigil/shared';

/** Timers longer than this are re-armed in steps (setTimeout's limit is ~24.8 days; clocks also drift). */
export const MAX_TIMER_MS = 6 * 3_600_000;

/**
 * One timer towards `at`: `due` runs when it is reached. A deadline further than MAX_TIMER_MS away gets `step`
 * after MAX_TIMER_MS instead, which arms again from the clock's time then: setTimeout fires a delay over 2^31-1 ms
 * (e.g. `timeout: 4w`) after 1 ms, which would be a slot or a verdict weeks early.
 */
export function timerTowards(clock: Clock, at: number, due: () => void, step: () => void): TimerHandle {
  const wait = at - clock.now();
  return wait > MAX_TIMER_MS ? clock.setTimeout(step, MAX_TIMER_MS) : clock.setTimeout(due, Math.max(0, wait));
}
