/** The calendar date (YYYY-MM-DD) of an instant in an IANA time zone: the day a job's run counts for. */
export function localDate(ms: number, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms);
}

/** The wall-clock time (HH:MM, 24 h) of an instant in an IANA time zone: what a job's schedule is written in. */
export function localTime(ms: number, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(ms);
}
