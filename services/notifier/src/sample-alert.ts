import type { Alert } from './alert.js';

/**
 * What `vigil test-email` shows: a realistic failure, clearly marked as a test, so the reader sees every part
 * of a real alert (error, stack, stats, actions, re-run command) before the first real incident.
 */
export function sampleFailure(base: Alert): Alert {
  return {
    ...base,
    kind: 'failed',
    severity: base.severity,
    headline: 'example-daily-report failed (TEST)',
    job: 'example-daily-report',
    run: {
      runId: '01TESTRUN0000000000000000',
      attempt: 3,
      trigger: 'schedule',
      scheduledAt: base.occurredAt,
      durationMs: 30_512,
    },
    error: {
      type: 'ConnectionError',
      class: 'transient',
      message: 'connect ETIMEDOUT 52.94.236.248:443 (reports provider API)',
      stack: [
        'ConnectionError: connect ETIMEDOUT 52.94.236.248:443 (reports provider API)',
        '    at fetchCompanies (examples/handlers/daily-report.mjs:42:11)',
        '    at async run (examples/handlers/daily-report.mjs:18:5)',
      ].join('\n'),
    },
    stats: { targets: 12, succeeded: 0, failed: 12, skipped: 0 },
    groupType: 'ConnectionError',
  };
}
