import { describe, expect, it } from 'vitest';
import { planCatchUp } from '../src/catch-up.js';
import { slotRunId } from '../src/run-id.js';
import { JobSchedule } from '../src/schedule.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const at = (s: string) => new Date(s).getTime();
const daily = (tz: string, from: string, n: number, pattern = '30 2 * * *') => {
  const s = new JobSchedule({ schedule: pattern, timezone: tz });
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const next = s.next(t) as number;
    out.push(iso(next) as string);
    t = next;
  }
  return out;
};

describe('DST: a 02:30 job runs once on spring-forward and never twice on fall-back', () => {
  it('Europe/Berlin spring-forward (29 Mar 2026, 02:00 -> 03:00): one run, at 03:30 CEST', () => {
    expect(daily('Europe/Berlin', '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 02:30 does not exist: 03:30 CEST, once
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('Europe/Berlin fall-back (25 Oct 2026, 03:00 -> 02:00): 02:30 happens twice, runs once', () => {
    expect(daily('Europe/Berlin', '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    // a scheduler (re)starting between the two 02:30s does not run the second one
    const s = new JobSchedule({ schedule: '30 2 * * *', timezone: 'Europe/Berlin' });
    expect(iso(s.next(at('2026-10-25T01:00:00Z')))).toBe('2026-10-26T01:30:00.000Z');
    expect(s.between(at('2026-10-24T12:00:00Z'), at('2026-10-26T00:00:00Z')).map(iso)).toEqual([
      '2026-10-25T00:30:00.000Z',
    ]);
  });

  it('a start during the repeated hour loses no slot after it (Europe/Berlin, 26 Oct 2025, every minute)', () => {
    // 00:00Z-01:00Z is 02:00-03:00 CEST, 01:00Z-02:00Z the same wall times again in CET: croner runs them
    // once (the first pass); 02:00Z-02:20Z are 03:00-03:20 CET and happen only once
    const s = new JobSchedule({ schedule: '* * * * *', timezone: 'Europe/Berlin' });
    expect(iso(s.next(at('2025-10-26T01:20:00Z')))).toBe('2025-10-26T02:00:00.000Z');
    expect(iso(s.next(at('2025-10-26T01:00:00Z')))).toBe('2025-10-26T02:00:00.000Z');
    expect(iso(s.next(at('2025-10-26T01:59:59.999Z')))).toBe('2025-10-26T02:00:00.000Z');
    expect(iso(s.next(at('2025-10-26T00:58:30Z')))).toBe('2025-10-26T00:59:00.000Z');
    expect(iso(s.next(at('2025-10-26T02:00:00Z')))).toBe('2025-10-26T02:01:00.000Z');
    // a reload at 01:20Z then runs on from 02:00Z, minute by minute
    expect(s.between(at('2025-10-26T01:20:00Z'), at('2025-10-26T02:02:00Z')).map(iso)).toEqual([
      '2025-10-26T02:00:00.000Z',
      '2025-10-26T02:01:00.000Z',
      '2025-10-26T02:02:00.000Z',
    ]);
    // the same for a 6-field cron and for a slot late in the hour after the repeat
    const secs = new JobSchedule({ schedule: '*/20 * * * * *', timezone: 'Europe/Berlin' });
    expect(iso(secs.next(at('2025-10-26T01:20:00Z')))).toBe('2025-10-26T02:00:00.000Z');
    const at0310 = new JobSchedule({ schedule: '10 3 * * *', timezone: 'Europe/Berlin' });
    expect(iso(at0310.next(at('2025-10-26T01:20:00Z')))).toBe('2025-10-26T02:10:00.000Z');
  });

  it('America/New_York spring-forward (8 Mar 2026): 02:30 runs once at 03:30 EDT', () => {
    expect(daily('America/New_York', '2026-03-07T12:00:00Z', 3)).toEqual([
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
      '2026-03-09T06:30:00.000Z',
      '2026-03-10T06:30:00.000Z',
    ]);
  });

  it('America/New_York fall-back (1 Nov 2026): 01:30 happens twice, runs once', () => {
    expect(daily('America/New_York', '2026-10-31T12:00:00Z', 2, '30 1 * * *')).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-02T06:30:00.000Z', // 01:30 EST next day
    ]);
    const s = new JobSchedule({ schedule: '30 1 * * *', timezone: 'America/New_York' });
    expect(iso(s.next(at('2026-11-01T06:00:00Z')))).toBe('2026-11-02T06:30:00.000Z');
  });

  it('06:00 New York is 11:00 UTC in winter and 10:00 UTC in summer', () => {
    expect(daily('America/New_York', '2026-01-10T00:00:00Z', 1, '0 6 * * *')).toEqual(['2026-01-10T11:00:00.000Z']);
    expect(daily('America/New_York', '2026-07-10T00:00:00Z', 1, '0 6 * * *')).toEqual(['2026-07-10T10:00:00.000Z']);
  });
});

describe('slots', () => {
  it('every: slots are epoch-aligned so all replicas agree', () => {
    const s = new JobSchedule({ every: 30 * 60_000, timezone: 'UTC' });
    expect(iso(s.next(at('2026-01-01T10:07:13Z')))).toBe('2026-01-01T10:30:00.000Z');
    expect(iso(s.next(at('2026-01-01T10:30:00Z')))).toBe('2026-01-01T11:00:00.000Z');
  });

  it('6-field cron has second precision; slots between two instants are listed oldest first', () => {
    const s = new JobSchedule({ schedule: '*/20 * * * * *', timezone: 'UTC' });
    expect(s.between(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:01:00Z')).map(iso)).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
  });

  it('manual-only jobs have no slots', () => {
    expect(new JobSchedule({ timezone: 'UTC' }).next(0)).toBeUndefined();
  });

  it('runIds are deterministic per (job, slot) and safe as KV keys and NATS msg ids', () => {
    expect(slotRunId('daily-reports', at('2026-01-01T06:00:00Z'))).toBe('daily-reports.1767247200');
  });
});

describe('catch-up after downtime', () => {
  const hour = 3_600_000;
  it('three missed slots, catchUp covering one: one catch-up run, two missed', () => {
    const now = at('2026-01-01T10:10:00Z');
    const slots = [at('2026-01-01T08:00:00Z'), at('2026-01-01T09:00:00Z'), at('2026-01-01T10:00:00Z')];
    const plan = planCatchUp(slots, now, 30 * 60_000);
    expect(plan.run).toBe(slots[2]);
    expect(plan.missed.map((m) => m.slot)).toEqual([slots[0], slots[1]]);
  });
  it('several slots inside the window still run only once (the newest)', () => {
    const now = at('2026-01-01T10:10:00Z');
    const slots = [at('2026-01-01T09:00:00Z'), at('2026-01-01T10:00:00Z')];
    const plan = planCatchUp(slots, now, 2 * hour);
    expect(plan.run).toBe(slots[1]);
    expect(plan.missed).toEqual([{ slot: slots[0], reason: expect.stringContaining('newer slot ran') }]);
  });
  it('a slot still inside its start deadline (a restart of seconds) is only late: it runs, without catchUp too', () => {
    const now = at('2026-01-01T10:00:06Z');
    const slots = [at('2026-01-01T09:59:00Z'), at('2026-01-01T10:00:00Z')];
    expect(planCatchUp(slots, now, undefined, 30_000)).toEqual({
      run: slots[1],
      missed: [{ slot: slots[0], reason: 'scheduler was down and the job has no catchUp window' }],
    });
    // past the deadline it is missed, as before
    expect(planCatchUp(slots, at('2026-01-01T10:00:31Z'), undefined, 30_000).run).toBeUndefined();
  });
  it('no catchUp: every missed slot is reported', () => {
    expect(planCatchUp([1, 2], 10, undefined)).toEqual({
      run: undefined,
      missed: [expect.objectContaining({ slot: 1 }), expect.objectContaining({ slot: 2 })],
    });
  });
});

describe('slots over a long outage: bounded work, the older ones summed up', () => {
  it('a per-second cron in a time zone down one day: the newest 100 listed, the rest counted, fast', () => {
    const s = new JobSchedule({ schedule: '* * * * * *', timezone: 'Europe/Berlin' });
    const from = at('2026-01-01T00:00:00Z');
    const to = from + 86_400_000 - 1;
    const t0 = performance.now();
    const { slots, older } = s.span(from, to, 100);
    // walking all 86 400 slots took ~22 s of blocked event loop; the bound keeps it well under a second
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(slots).toHaveLength(100);
    expect(iso(slots[0])).toBe('2026-01-01T23:58:20.000Z');
    expect(iso(slots[99])).toBe('2026-01-01T23:59:59.000Z');
    expect(older).toMatchObject({ exact: false, first: from + 1000 });
    expect(Math.abs((older?.count ?? 0) - 86_299)).toBeLessThan(100);
  });

  it('counts exactly when it can: a per-minute cron over 12 h, an every: job over a year', () => {
    const cron = new JobSchedule({ schedule: '* * * * *', timezone: 'America/New_York' });
    const c = cron.span(at('2026-01-01T00:00:00Z'), at('2026-01-01T12:00:00Z'), 100);
    expect(c.slots.map(iso).slice(-1)).toEqual(['2026-01-01T12:00:00.000Z']);
    expect(c.older).toEqual({
      count: 620,
      exact: true,
      first: at('2026-01-01T00:01:00Z'),
      last: at('2026-01-01T10:20:00Z'),
    });
    expect(iso(c.slots[0])).toBe('2026-01-01T10:21:00.000Z');
    const every = new JobSchedule({ every: 1_000, timezone: 'UTC' });
    const e = every.span(at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'), 100);
    expect(e.slots).toHaveLength(100);
    expect(e.older).toEqual({
      count: 365 * 86_400 - 100,
      exact: true,
      first: at('2026-01-01T00:00:01Z'),
      last: at('2026-12-31T23:58:20Z'),
    });
    // few slots: all listed, nothing summed up
    expect(cron.span(at('2026-01-01T00:00:00Z'), at('2026-01-01T01:00:00Z'), 100)).toEqual({
      slots: expect.any(Array),
    });
  });
});

describe('how long "no success yet" is normal for a job (vigil_job_expected_interval_seconds)', () => {
  const from = at('2026-03-04T12:00:00Z'); // a Wednesday
  const DAY = 86_400_000;
  it('is the longest gap between slots: a day, a weekend for weekdays, a week, the every: period', () => {
    expect(new JobSchedule({ schedule: '0 6 * * *', timezone: 'UTC' }).longestGap(from)).toBe(DAY);
    expect(new JobSchedule({ schedule: '0 6 * * 1-5', timezone: 'UTC' }).longestGap(from)).toBe(3 * DAY);
    expect(new JobSchedule({ schedule: '0 6 * * 1', timezone: 'UTC' }).longestGap(from)).toBe(7 * DAY);
    expect(new JobSchedule({ every: 300_000, timezone: 'UTC' }).longestGap(from)).toBe(300_000);
  });

  it('is unknown for a manual-only job, so the alert never fires for it', () => {
    expect(new JobSchedule({ timezone: 'UTC' }).longestGap(from)).toBeUndefined();
  });
});
