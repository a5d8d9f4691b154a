/**
 * NATS subject matching: `*` matches one token, `>` one or more trailing tokens.
 * Used for schema lookup and DLQ filters (not on a per-message hot path: results are cached).
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const tok = p[i];
    if (tok === '>') return s.length > i;
    if (i >= s.length) return false;
    if (tok !== '*' && tok !== s[i]) return false;
  }
  return p.length === s.length;
}
