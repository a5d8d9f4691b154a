// The restart rules of `npm start` (scripts/dev-stack/restart-policy.mjs), without starting a stack.
import { describe, expect, it } from 'vitest';
import { describeExit, finalExitReason, restartDelay } from '../../scripts/dev-stack/restart-policy.mjs';

describe('dev stack restart policy', () => {
  it('waits 1 s, doubling up to 30 s, and starts over after a run of 60 s', () => {
    const delays: number[] = [];
    let delay: number | undefined;
    for (let i = 0; i < 8; i++) {
      delay = restartDelay(delay, 5_000) as number;
      delays.push(delay);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(restartDelay(30_000, 59_999)).toBe(30_000);
    expect(restartDelay(30_000, 60_000)).toBe(1_000);
  });

  it('does not restart on a configuration (78) or usage (2) error, and restarts on anything else', () => {
    expect(finalExitReason(78, null)).toMatch(/EX_CONFIG/);
    expect(finalExitReason(2, null)).toMatch(/usage/);
    for (const code of [0, 1, 137]) expect(finalExitReason(code, null)).toBeUndefined();
    expect(finalExitReason(null, 'SIGKILL')).toBeUndefined();
  });

  it('names a signal or an exit code', () => {
    expect(describeExit(null, 'SIGKILL')).toBe('SIGKILL');
    expect(describeExit(1, null)).toBe('code 1');
  });
});
