import { describe, expect, it } from 'vitest';
import { groupKeyOf } from '../../src/alert.js';
import { toAlert } from '../../src/to-alert.js';
import { failedEvent } from './fixtures.js';

describe('toAlert', () => {
  it('maps job families to severities', () => {
    const ev = failedEvent();
    expect(toAlert('job.failed.daily-reports', ev)?.severity).toBe('CRITICAL');
    expect(toAlert('job.missed.daily-reports', ev)?.severity).toBe('CRITICAL');
    expect(toAlert('job.stuck.daily-reports', ev)?.severity).toBe('CRITICAL');
    expect(toAlert('job.partial.daily-reports', ev)?.severity).toBe('WARNING');
    const rec = toAlert('job.recovered.daily-reports', ev);
    expect(rec?.severity).toBe('INFO');
    expect(rec?.resolved).toBe(true);
    expect(toAlert('job.succeeded.daily-reports', ev)).toBeUndefined();
    // replaced by a newer run (concurrency: replace): no failure alert
    const cancelled = failedEvent({
      error: { type: 'cancelled', message: 'replaced by r2', code: 'VIGIL_E_RUN_CANCELLED' },
    });
    expect(toAlert('job.failed.daily-reports', cancelled)).toBeUndefined();
  });

  it('groups by job and error type', () => {
    const a = toAlert('job.failed.daily-reports', failedEvent())!;
    const b = toAlert('job.failed.daily-reports', failedEvent({}, 'other'))!;
    const c = toAlert('job.failed.daily-reports', failedEvent({ error: { type: 'ValidationError', message: 'x' } }))!;
    expect(groupKeyOf(a)).toBe(groupKeyOf(b));
    expect(groupKeyOf(a)).not.toBe(groupKeyOf(c));
    expect(a.headline).toBe('daily-reports failed');
  });

  it('reads secrets, webhook, breaker and notify events', () => {
    const s = toAlert('secrets.refresh-failed', {
      id: '1',
      data: { failed: 8, total: 9, error: { type: 'InternalServiceError', message: 'AWS down' } },
    })!;
    expect(s.severity).toBe('CRITICAL');
    expect(s.groupType).toBe('InternalServiceError');
    expect(toAlert('secrets.stale-served', { id: '2', data: { name: 'db', ageSeconds: 1800 } })?.severity).toBe(
      'WARNING',
    );
    const w = toAlert('webhook.dead', {
      id: '3',
      data: { id: 'w1', url: 'https://hooks.example.com/x', attempts: 8 },
    })!;
    expect(w.headline).toContain('hooks.example.com');
    const b = toAlert('breaker.opened.reports.provider-api', { id: '4', data: {} })!;
    expect(b.scope).toBe('breaker:reports.provider-api');
    const n = toAlert('notify.send', {
      id: '5',
      data: { severity: 'critical', title: 'Hi', body: 'b', recipients: ['a@b.io'] },
    })!;
    expect(n.severity).toBe('CRITICAL');
    expect(n.recipients).toEqual(['a@b.io']);
  });
});
