/**
 * How a duration is written for a person, by where it is read:
 * - 'long' (default; an alert's facts): '250 ms', '45 s', '2 min 0 s', '3 h 5 min'
 * - 'rough' (a headline, its facts carry the exact figure): '45 s', '2 min', '3 h 5 min', '3 h'; seconds round as
 *   'long' rounds them, so a headline and its facts give the same figure
 * - 'round' (a configured span, as people write it): '24 h', '90 min', '3 d'; else as 'long'
 * - 'short' (terminal columns, as a jobs file writes it): '250ms', '1.5s', '30s', '2m', '1.5h'
 */
export type DurationStyle = 'long' | 'rough' | 'round' | 'short';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A duration in ms as people read it, in one of the styles above. */
export function formatDuration(ms: number, style: DurationStyle = 'long'): string {
  switch (style) {
    case 'long':
      return long(ms);
    case 'rough':
      return rough(ms);
    case 'round':
      return round(ms);
    case 'short':
      return short(ms);
  }
}

function long(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function rough(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
}

function round(ms: number): string {
  if (ms >= 2 * DAY && ms % DAY === 0) return `${ms / DAY} d`;
  if (ms % HOUR === 0) return `${ms / HOUR} h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE} min`;
  return long(ms);
}

function short(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  // one decimal where it says something: 1.5s, 30s (not 30.0s)
  if (ms < MINUTE) return `${Number((ms / 1000).toFixed(1))}s`;
  if (ms < HOUR) return `${Math.round(ms / MINUTE)}m`;
  return `${Number((ms / HOUR).toFixed(1))}h`;
}
