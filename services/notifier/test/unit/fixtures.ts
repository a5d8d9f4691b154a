import { recommendedActions } from '../../src/recommended-actions.js';
import { renderEmail } from '../../src/render-email.js';
import { type EventLike, toAlert } from '../../src/to-alert.js';

const publicUrl = 'http://127.0.0.1:8080';

/** A job alert of `family` (missed, stuck, failed…) for daily-reports: the alert, its email and its actions. */
export function jobAlert(family: string, over: Record<string, unknown> = {}) {
  const alert = toAlert(`job.${family}.daily-reports`, failedEvent({ status: family, error: undefined, ...over }))!;
  return { alert, mail: renderEmail(alert, { publicUrl }), actions: recommendedActions(alert).join('\n') };
}

/** The lines of a plain-text email section, e.g. RE-RUN, up to the next blank-line-separated heading. */
export function section(text: string, heading: string): string {
  const from = text.indexOf(`\n${heading}\n`);
  if (from < 0) return '';
  const rest = text.slice(from + heading.length + 2);
  const end = rest.search(/\n\n[A-Z][A-Z -]+\n/);
  return end < 0 ? rest : rest.slice(0, end);
}

export function failedEvent(over: Record<string, unknown> = {}, id = '01JFAILED000000000000000001'): EventLike {
  return {
    id,
    source: 'vigil/reports',
    time: '2026-11-24T02:00:05.000Z',
    subject: 'job.failed.daily-reports',
    data: {
      runId: '01RUN00000000000000000000A',
      job: 'daily-reports',
      attempt: 3,
      trigger: 'schedule',
      scheduledAt: '2026-11-24T02:00:00.000Z',
      finishedAt: '2026-11-24T02:00:05.000Z',
      durationMs: 5000,
      status: 'failed',
      error: {
        type: 'ConnectionError',
        message: 'connect ECONNREFUSED 10.0.0.5:443 <script>alert(1)</script>',
        stack: 'ConnectionError: connect ECONNREFUSED\n    at fetch (<anonymous>)\n    at run (handler.mjs:10:3)',
        class: 'transient',
      },
      stats: { targets: 4, succeeded: 1, failed: 3, skipped: 0 },
      ...over,
    },
  };
}
