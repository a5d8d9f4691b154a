import type { Alert, Severity } from '../alert.js';

/** Everything a template shows, computed once so the HTML and text versions say the same thing. */
export interface EmailView {
  alert: Alert;
  severityLabel: string;
  subject: string;
  heading: string;
  /** Set on a follow-up: how many alerts of the group were folded since the last email, and what about. */
  followUp?: { count: number; since: string; items: string[] };
  details: Array<[string, string]>;
  actions: string[];
  /** `when`: the condition under which to run it at all (missed and stuck runs may still run or be running). */
  rerun?: { cli: string; curl: string; tokenHint: string; when?: string };
  runLink?: string;
  publicUrl: string;
}

export const SEVERITY_COLOR: Record<Severity | 'RESOLVED', string> = {
  CRITICAL: '#b42318',
  WARNING: '#b54708',
  INFO: '#175cd3',
  RESOLVED: '#067647',
};

/** A follow-up whose items say why each folded alert happened (`wh-1 — HTTP 302 …`): listed one per line. */
export function followUpListed(items: string[]): boolean {
  return items.some((i) => i.includes(' — '));
}

/** The heading of `failures`: a run's failed targets, or a warm cycle's failed secrets. */
export function failuresHeading(a: Alert): string {
  return a.kind.startsWith('secrets-') ? 'Failed secrets' : 'Failed targets';
}
