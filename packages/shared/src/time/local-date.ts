/** The calendar date (YYYY-MM-DD) of an instant in an IANA time zone: the day a job's run counts for. */
export function localDate(ms: number, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms);
}
