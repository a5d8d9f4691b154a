import { describe, expect, it } from 'vitest';
import { timeIn } from '../src/format.js';

describe('vigil jobs NEXT RUN', () => {
  it("shows a job's next run in UTC and, in another zone, its wall-clock time there", () => {
    expect(timeIn('2026-12-07T03:30:00.000Z', 'Asia/Kolkata')).toBe('2026-12-07 03:30:00Z (09:00 Asia/Kolkata)');
    // another day there: the date is named
    expect(timeIn('2026-12-07T04:00:00.000Z', 'America/New_York')).toBe(
      '2026-12-07 04:00:00Z (2026-12-06 23:00 America/New_York)',
    );
    expect(timeIn('2026-12-07T06:00:00.000Z', 'UTC')).toBe('2026-12-07 06:00:00Z');
    expect(timeIn(undefined, 'Europe/Berlin')).toBe('-');
  });
});
