import { describe, expect, it } from 'vitest';
import { errorMessage, formatDuration } from '@vigil/shared';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('formatDuration', () => {
  it("'long' (the default, an alert's facts) spells the units out, two figures", () => {
    expect([250, 45_000, 2 * MIN, 3 * HOUR + 5 * MIN].map((ms) => formatDuration(ms))).toEqual([
      '250 ms',
      '45 s',
      '2 min 0 s',
      '3 h 5 min',
    ]);
  });

  it("'rough' (a headline) drops a zero second part and rounds seconds as 'long' does", () => {
    expect([5_000, 3 * MIN, 150 * MIN, 3 * HOUR].map((ms) => formatDuration(ms, 'rough'))).toEqual([
      '5 s',
      '3 min',
      '2 h 30 min',
      '3 h',
    ]);
    expect(formatDuration(35_600, 'rough')).toBe(formatDuration(35_600, 'long'));
  });

  it("'round' writes a whole span as people set it, anything else as 'long'", () => {
    expect([DAY, 3 * DAY, 90 * MIN, 150_000].map((ms) => formatDuration(ms, 'round'))).toEqual([
      '24 h',
      '3 d',
      '90 min',
      '2 min 30 s',
    ]);
  });

  it("'short' (terminal columns) writes it as a jobs file would", () => {
    expect([250, 1_500, 30_000, 2 * MIN, 90 * MIN].map((ms) => formatDuration(ms, 'short'))).toEqual([
      '250ms',
      '1.5s',
      '30s',
      '2m',
      '1.5h',
    ]);
  });
});

describe('errorMessage', () => {
  it("is an Error's message, anything else as a string", () => {
    expect(errorMessage(new TypeError('bad'))).toBe('bad');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(undefined)).toBe('undefined');
  });
});
