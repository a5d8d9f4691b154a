import { describe, expect, it } from 'vitest';
import { recommendedActions } from '../../src/recommended-actions.js';
import { toAlert } from '../../src/to-alert.js';
import { failedEvent } from './fixtures.js';

const actionsFor = (error: Record<string, unknown> | undefined, family = 'failed') =>
  recommendedActions(toAlert(`job.${family}.daily-reports`, failedEvent({ error }))!).join('\n');

describe('recommendedActions', () => {
  it('a secrets provider breaker points to the secrets alerts and status, not to a status page', () => {
    const data = { service: 'secrets', name: 'secrets-provider', state: 'open', at: new Date().toISOString() };
    const text = recommendedActions(toAlert('breaker.opened.secrets.secrets-provider', { id: 'b', data })!).join('\n');
    expect(text).toMatch(/serves the cached values it has \(stale\)/);
    expect(text).toContain('`vigil secrets status`');
    expect(text).not.toMatch(/status page/);
  });

  it('chooses by error class and type', () => {
    expect(actionsFor({ type: 'ConnectionError', message: 'ECONNREFUSED', class: 'transient' })).toMatch(
      /status page and connectivity/,
    );
    expect(actionsFor({ type: 'TimeoutError', message: 'timed out', class: 'transient' })).toMatch(/timed out/);
    expect(actionsFor({ type: 'HttpError', message: 'provider returned 503', class: 'transient' })).toMatch(/outage/);
    expect(actionsFor({ type: 'HttpError', message: 'HTTP 401 Unauthorized', class: 'permanent' })).toMatch(/rotate/);
    expect(
      actionsFor({ type: 'ValidationError', message: 'field "company_id" is missing', class: 'validation' }),
    ).toMatch(/Invalid input .*company_id.*fix that input/);
    // a handler's bad return value is the handler's bug, not the job's input
    expect(
      actionsFor({
        type: 'ValidationError',
        message: 'handler returned status "ok"; expected succeeded, partial or failed',
        class: 'validation',
        code: 'VIGIL_E_HANDLER_RESULT_INVALID',
      }),
    ).toMatch(/fix the handler's return value/);
    expect(actionsFor({ type: 'TypeError', message: 'x is undefined', class: 'unexpected' })).toMatch(/stack trace/);
  });

  it('knows missed, stuck and secrets alerts', () => {
    expect(actionsFor(undefined, 'missed')).toMatch(/runners are up/);
    expect(actionsFor(undefined, 'stuck')).toMatch(/inspect the handler/);
    const s = toAlert('secrets.stale-served', { id: '1', data: { name: 'db', provider: 'aws' } })!;
    expect(recommendedActions(s).join(' ')).toMatch(/AWS status/);
    // no provider in the event: no guess
    const unknown = toAlert('secrets.stale-served', { id: '1', data: { name: 'db' } })!;
    expect(recommendedActions(unknown).join(' ')).not.toMatch(/AWS/);
    expect(recommendedActions(unknown).join(' ')).toMatch(/The secrets provider is failing/);
  });

  it('a refresh failure says jobs fail when a failed secret has nothing cached, and keep running when all are', () => {
    const failed = (cached: boolean) =>
      toAlert('secrets.refresh-failed', {
        id: '1',
        data: {
          names: ['db', 'api'],
          severity: 'CRITICAL',
          cached,
          error: { type: 'InternalServiceError', message: 'x' },
        },
      })!;
    const without = failed(false);
    expect(recommendedActions(without).join(' ')).toMatch(/no cached value fail until the provider answers/);
    expect(without.facts).toContainEqual(['Impact', expect.stringMatching(/jobs that need them fail/)]);
    expect(recommendedActions(failed(true)).join(' ')).toMatch(/Jobs keep running on the cached values/);
  });
});

describe('a job that failed on a secret', () => {
  it('names no AWS unless the error does', () => {
    const unavailable = actionsFor({
      type: 'TransientError',
      message: 'secret "db" is unavailable: provider error ENOENT and no value has been cached since start',
      class: 'transient',
      code: 'VIGIL_E_SECRET_UNAVAILABLE',
    });
    expect(unavailable).toMatch(/The secrets provider failed: `vigil secrets status` shows each secret's last error/);
    expect(unavailable).not.toMatch(/AWS/);
    const missing = actionsFor({
      type: 'PermanentError',
      message: 'secret "db" does not exist in the file provider (/etc/vigil/secrets.yaml)',
      class: 'permanent',
      code: 'VIGIL_E_SECRET_NOT_FOUND',
    });
    expect(missing).toMatch(/A secret the job needs does not exist: create it in the secrets file \(SECRETS_FILE/);
    expect(missing).not.toMatch(/AWS/);
    const aws = actionsFor({
      type: 'TransientError',
      message: 'aws provider error InternalServiceError for secret "db": 500',
      class: 'transient',
      code: 'VIGIL_E_SECRETS_PROVIDER',
    });
    expect(aws).toMatch(/AWS status/);
  });
});

describe('recommendedActions for partial runs', () => {
  it('advises per kind of target failure', () => {
    const ev = failedEvent({
      status: 'partial',
      error: undefined,
      failures: [
        { target: 'acme', error: { type: 'HttpError', message: 'HTTP 503 Service Unavailable', class: 'transient' } },
        { target: 'globex', error: 'timeout after 30s' },
        { target: 'initech', error: { type: 'HttpError', message: 'HTTP 503', class: 'transient' } },
      ],
    });
    const text = recommendedActions(toAlert('job.partial.daily-reports', ev)!).join('\n');
    expect(text).toMatch(/^acme, initech: The provider answered 503/m);
    expect(text).toMatch(/^globex: The call timed out/m);
    expect(text).toMatch(/Re-run only the 3 failed target/);
  });
});
