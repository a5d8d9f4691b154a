import { z } from 'zod';
import { ValidationError } from '../errors/index.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/**
 * '250ms', '30s', '5m', '1h', '7d', '1h30m' -> milliseconds. A bare number is taken as milliseconds, so
 * durations written by machines (`every: 60000`) and people (`every: 1m`) both work.
 */
export function parseDuration(text: string): number {
  const s = String(text).trim().toLowerCase();
  if (/^\d+$/.test(s)) return Number(s);
  let total = 0;
  let end = 0;
  PART.lastIndex = 0;
  for (let m = PART.exec(s); m; m = PART.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    end = PART.lastIndex;
  }
  if (s.length === 0 || end !== s.length) {
    throw new ValidationError(`"${text}" is not a duration (use e.g. 250ms, 30s, 5m, 1h, 7d)`);
  }
  return Math.round(total);
}

/** zod: a duration string (or a number of ms) -> number of milliseconds. */
export const durationSchema = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
