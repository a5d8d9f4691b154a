import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '@vigil/shared';

describe('ManualClock', () => {
  it('fires due timers in time order, with now() at each timer time', async () => {
    const clock = new ManualClock(1_000);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 200);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 100);
    clock.setTimeout(() => fired.push(['a2', clock.now()]), 100);
    clock.setTimeout(() => fired.push(['late', clock.now()]), 500);
    await clock.advance(300);
    expect(fired).toEqual([
      ['a', 1_100],
      ['a2', 1_100],
      ['b', 1_200],
    ]);
    expect(clock.now()).toBe(1_300);
    expect(clock.pending()).toBe(1);
  });

  it('lets async work scheduled by a timer arm the next timer within the same advance', async () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const loop = async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(1_000);
        await Promise.resolve();
        ticks.push(clock.now());
      }
    };
    const done = loop();
    await clock.advance(3_000);
    await done;
    expect(ticks).toEqual([1_000, 2_000, 3_000]);
  });

  it('clearTimeout cancels; set() moves to an absolute time', async () => {
    const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
    let fired = false;
    const h = clock.setTimeout(() => {
      fired = true;
    }, 10);
    clock.clearTimeout(h);
    await clock.set(new Date('2026-01-01T00:01:00Z'));
    expect(fired).toBe(false);
    expect(new Date(clock.now()).toISOString()).toBe('2026-01-01T00:01:00.000Z');
  });

  it('sleep honours an AbortSignal', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const p = clock.sleep(10_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(clock.pending()).toBe(0);
    await expect(clock.sleep(5, ac.signal)).rejects.toThrow('stop');
  });
});

describe('systemClock', () => {
  it('sleeps for real and can be aborted', async () => {
    const t0 = Date.now();
    await systemClock.sleep(20);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
    const ac = new AbortController();
    const p = systemClock.sleep(60_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});
