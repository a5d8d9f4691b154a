import { formatDuration, localDate, localTime, parseDuration } from '@vigil/shared';

/**
 * Widest a table cell is shown: a run's reason or error, a DLQ entry's error, is cut there with `…` (the whole
 * text is in `--json` and in `vigil run <id>`), so one long value cannot push every other row off the screen.
 */
export const MAX_CELL_WIDTH = 80;

/**
 * One table cell on one line: line breaks shown as ` ⏎ ` (a command's `exited with 3: boom⏎stdout: …` must not
 * split its row), other control characters (tabs, escapes) as a space, then cut at MAX_CELL_WIDTH with `…`.
 */
export function cell(value: string | number | undefined | null): string {
  if (value === undefined || value === null || value === '') return '-';
  const text = String(value)
    .replace(/\s*(?:\r\n|[\r\n\u2028\u2029])\s*/g, ' ⏎ ')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .trim();
  if (text === '') return '-';
  const chars = Array.from(text); // code points: an emoji is never cut in half
  return chars.length > MAX_CELL_WIDTH ? `${chars.slice(0, MAX_CELL_WIDTH - 1).join('')}…` : text;
}

/**
 * Plain aligned columns: readable in a terminal, greppable, no colours to strip. Every cell is one line, at most
 * MAX_CELL_WIDTH wide (cell()): one row per item, whatever text a run or an error carries.
 */
export function table(headers: string[], rows: (string | number | undefined | null)[][]): string {
  const cells = rows.map((r) => r.map(cell));
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
