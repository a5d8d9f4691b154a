import { formatDuration, localDate, localTime, parseDuration } from '@vigil/shared';

/** Plain aligned columns: readable in a terminal, greppable, no colours to strip. */
export function table(headers: string[], rows: (string | number | undefined | null)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === undefined || c === null || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** '2026-01-01T06:00:00.000Z' -> '2026-01-01 06:00:00Z'. */
export function time(iso: string | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A job's next run as UTC and, for a job in another time zone, its wall-clock time there, as the schedule is
 * written: '2026-12-07 03:30:00Z (09:00 Asia/Kolkata)'.
 */
export function timeIn(iso: string | undefined, timezone: string | undefined): string {
  const utc = time(iso);
  if (!iso || !timezone || timezone === 'UTC' || timezone === 'Etc/UTC') return utc;
  try {
    const ms = Date.parse(iso);
    const day = localDate(ms, timezone);
    return `${utc} (${day === iso.slice(0, 10) ? '' : `${day} `}${localTime(ms, timezone)} ${timezone})`;
  } catch {
    return utc; // a zone this Node does not know: UTC alone
  }
}

/** A duration as a jobs file would write it: '250ms', '1.5s', '30s' (not 30.0s), '2m', '1.5h'. */
export function ms(n: number | undefined): string {
  return n === undefined ? '-' : formatDuration(n, 'short');
}

/** An age in seconds: '42s' under a minute, then as ms() writes it ('5m', '1.5h'). */
export function age(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number') return '-';
  return seconds < 60 ? `${Math.round(seconds)}s` : ms(seconds * 1000);
}

/**
 * A trigger delay in whole seconds: any duration the jobs file and variables take ('90s', '10m', '1h30m', '2d'),
 * rounded up to the second (`delaySeconds` is whole seconds), or a bare number of seconds ('30') as the field's
 * name says (the one place a bare number is not milliseconds). Undefined when it is neither.
 */
export function parseDelay(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  try {
    return Math.ceil(parseDuration(t) / 1000);
  } catch {
    return undefined;
  }
}
