import type { EventLike } from '../../src/to-alert.js';

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
