import type { AlertError, Severity } from './alert.js';

// Reading the loosely typed `data` of an event: what every family's Alert is built from (to-alert.ts, secrets-alert.ts).

export type Rec = Record<string, unknown>;

export const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

const SEVERITIES: Record<string, Severity> = {
  critical: 'CRITICAL',
  crit: 'CRITICAL',
  error: 'CRITICAL',
  warning: 'WARNING',
  warn: 'WARNING',
  info: 'INFO',
  resolved: 'INFO',
};

/** `[label, value]` facts of the fields of `d` that hold a string or a number, in the order given. */
export function factsOf(d: Rec, fields: ReadonlyArray<readonly [label: string, key: string]>): Array<[string, string]> {
  const facts: Array<[string, string]> = [];
  for (const [label, key] of fields) {
    const v = d[key];
    if (typeof v === 'string' || typeof v === 'number') facts.push([label, String(v)]);
  }
  return facts;
}

export function parseSeverity(v: unknown, fallback: Severity = 'WARNING'): Severity {
  return (typeof v === 'string' && SEVERITIES[v.toLowerCase()]) || fallback;
}

export function errorOf(v: unknown): AlertError | undefined {
  if (typeof v === 'string') return { type: 'Error', message: v };
  if (!isRec(v)) return undefined;
  const message = str(v.message) ?? '';
  const type = str(v.type) ?? str(v.name) ?? str(v.code) ?? 'Error';
  const cls = str(v.class);
  return {
    type,
    message,
    stack: str(v.stack),
    class: cls === 'validation' || cls === 'transient' || cls === 'permanent' || cls === 'unexpected' ? cls : undefined,
    code: str(v.code),
  };
}
