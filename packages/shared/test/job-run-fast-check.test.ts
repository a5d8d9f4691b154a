import { JobRunSchema, parseJobRun } from '@vigil/shared';
import { describe, expect, it } from 'vitest';

// The runner checks every request with parseJobRun (a fast path for plain requests); it must never accept what
// the contract's schema rejects, and must give the schema's answer for everything else.
const base = {
  runId: 'daily-report-2026-11-24T06:00:00Z',
  job: 'daily-report',
  attempt: 1,
  trigger: 'schedule',
  scheduledAt: '2026-11-24T06:00:00.000Z',
  status: 'requested',
};

const samples: Record<string, unknown> = {
  plain: base,
  'with reason and requestedBy': { ...base, trigger: 'manual', reason: 'rerun', requestedBy: 'ops' },
  'offset time': { ...base, scheduledAt: '2026-11-24T07:00:00+01:00' },
  'with notBefore': { ...base, notBefore: '2026-11-24T06:05:00Z' },
  'with targets (schema path)': { ...base, targets: ['acme', 'globex'] },
  'unknown extra (schema path)': { ...base, priority: 3 },
  'empty runId': { ...base, runId: '' },
  'missing job': { runId: 'r', attempt: 1, trigger: 'manual', scheduledAt: base.scheduledAt, status: 'requested' },
  'fractional attempt': { ...base, attempt: 1.5 },
  'huge attempt': { ...base, attempt: 2 ** 60 },
  'negative attempt': { ...base, attempt: -1 },
  'unknown trigger': { ...base, trigger: 'cron' },
  'unknown status': { ...base, status: 'done' },
  'not a time': { ...base, scheduledAt: 'tomorrow' },
  'impossible date': { ...base, scheduledAt: '2026-02-30T06:00:00Z' },
  'time without zone': { ...base, scheduledAt: '2026-11-24T06:00:00' },
  'numeric reason': { ...base, reason: 42 },
  'negative duration': { ...base, durationMs: -5 },
  'targets not strings': { ...base, targets: [1] },
  '__proto__ key': JSON.parse(
    `{"__proto__": {"x": 1}, "runId": "r", "job": "j", "attempt": 1, "trigger": "manual", "scheduledAt": "${base.scheduledAt}", "status": "requested"}`,
  ),
  array: [base],
  null: null,
  string: 'job',
};

describe('parseJobRun agrees with JobRunSchema', () => {
  for (const [name, value] of Object.entries(samples)) {
    it(name, () => {
      const fast = parseJobRun(value);
      const schema = JobRunSchema.safeParse(value);
      expect(fast.success).toBe(schema.success);
      if (fast.success && schema.success) expect(fast.data).toEqual(schema.data);
      if (!fast.success) expect(fast.error?.issues.length).toBeGreaterThan(0);
    });
  }
});
