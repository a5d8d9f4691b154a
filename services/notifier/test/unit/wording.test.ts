import { describe, expect, it } from 'vitest';
import { groupKeyOf } from '../../src/alert.js';
import { decideOnAlert, type GroupState, restoreFollowUp, takeFollowUp, unsentOf } from '../../src/grouping.js';
import { recommendedActions } from '../../src/recommended-actions.js';
import { renderEmail } from '../../src/render-email.js';
import { renderSlack } from '../../src/slack-message.js';
import { toAlert } from '../../src/to-alert.js';
import { failedEvent, jobAlert, section } from './fixtures.js';

const publicUrl = 'http://127.0.0.1:8080';
const WATCHDOG = 'not started within 120s of 2026-11-24T02:00:00.000Z';

const job = jobAlert;

describe('missed, stuck and recovered runs', () => {
  it('a missed run is still queued: wait for it; re-run only if you cannot wait (it would run twice)', () => {
    const { mail, actions } = job('missed', { reason: WATCHDOG });
    expect(actions).toMatch(/still queued: it starts as soon as a runner takes it, and a ✅ RESOLVED email follows/);
    expect(actions).toMatch(/runners are up/);
    const rerun = section(mail.text, 'RE-RUN');
    expect(rerun).toMatch(/^ {2}Only if you cannot wait for a runner, or no run followed .* starts a second run\./);
    expect(rerun).toContain(
      'vigil trigger daily-reports --reason "re-run after 01RUN00000000000000000000A was missed"',
    );
    expect(mail.html).toMatch(/Re-run<\/h3>\s*<p[^>]*>Only if you cannot wait/);
  });

  it('a slot the scheduler never requested (it was down) will not run by itself: a plain re-run', () => {
    const { mail, actions } = job('missed', { reason: 'scheduler was down and the job has no catchUp window' });
    expect(actions).toMatch(/will not run by itself/);
    expect(actions).not.toMatch(/still queued/);
    expect(section(mail.text, 'RE-RUN')).not.toMatch(/Only if/);
    expect(mail.text).toContain('vigil trigger daily-reports --reason');
  });

  it('a stuck run may still be running: wait, or --force (a plain re-run gets 409 under concurrency forbid)', () => {
    const { mail, actions } = job('stuck', { reason: 'still running after 60s (timeout)' });
    expect(actions).toMatch(/wait for it/);
    expect(actions).toMatch(/409/);
    expect(mail.text).toContain('vigil trigger daily-reports --force --reason "re-run after');
    expect(mail.text).toContain(`-d '{"reason":"re-run after 01RUN00000000000000000000A was stuck","force":true}'`);
    expect(section(mail.text, 'RE-RUN')).toMatch(/Only if a new run is needed before the stuck one ends/);
  });

  it('the resolved notice after a missed run says nothing about failed runs', () => {
    const missed = job('recovered', { status: 'succeeded', reason: 'first success after a missed run' });
    expect(missed.mail.subject).toBe('✅ RESOLVED: daily-reports recovered');
    expect(missed.actions).not.toMatch(/failed runs/);
    expect(missed.actions).toMatch(/after its missed start/);
    const failed = job('recovered', { status: 'succeeded', reason: 'first success after a failed run' });
    expect(failed.actions).toMatch(/data of the failed runs is complete/);
  });
});

describe('webhook given up', () => {
  const dead = (data: Record<string, unknown>) => {
    const alert = toAlert('webhook.dead', {
      id: 'w',
      data: { id: 'wh-1', url: 'https://partner.example/hook', eventType: 'report.ready', ...data },
    })!;
    return { mail: renderEmail(alert, { publicUrl }), actions: recommendedActions(alert).join('\n') };
  };

  it('after retries of a network error: unreachable for all attempts, replay from the DLQ once it is back', () => {
    for (const error of [
      { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:9', class: 'permanent', code: 'ECONNREFUSED' },
      { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:9', class: 'transient', code: 'VIGIL_E_PERMANENT' },
    ]) {
      const { mail, actions } = dead({ attempts: 4, error });
      expect(actions).toMatch(
        /unreachable for all 4 attempts \(ECONNREFUSED\).*vigil dlq list.*vigil dlq replay <seq>/,
      );
      expect(actions).not.toMatch(/will repeat on retry/);
      expect(mail.text).toMatch(/Error class:\s+transient \(retries exhausted after 4 attempts\)/);
      expect(mail.text).not.toMatch(/Error class:\s+permanent/);
    }
    const http = dead({
      attempts: 4,
      status: 503,
      error: { type: 'HttpError', message: 'HTTP 503', class: 'transient' },
    });
    expect(http.actions).toMatch(/kept failing for all 4 attempts \(last answer HTTP 503\)/);
    expect(http.actions).not.toMatch(/unreachable/);
  });

  it('used-up retries of 429 say rate limited, not unreachable', () => {
    const { mail, actions } = dead({
      attempts: 4,
      status: 429,
      error: { type: 'VIGIL_E_HTTP_STATUS', message: 'HTTP 429', class: 'transient' },
    });
    expect(actions).toMatch(
      /kept answering HTTP 429 \(rate limited\) for all 4 attempts; once it accepts requests again, replay it/,
    );
    expect(actions).not.toMatch(/unreachable/);
    expect(mail.text).toMatch(/Error class:\s+transient \(retries exhausted after 4 attempts\)/);
  });

  it('a refusal (4xx, one attempt) stays permanent: fix it first', () => {
    const { mail, actions } = dead({
      attempts: 1,
      status: 400,
      error: { type: 'HttpError', message: 'HTTP 400 Bad Request', class: 'permanent' },
    });
    expect(actions).toMatch(/refused the request \(HTTP 400\)/);
    expect(actions).toMatch(/If our request was wrong, a replay sends it unchanged and fails the same way/);
    expect(mail.text).toMatch(/Error class:\s+permanent\n/);
  });

  it('a redirect is not followed: the sender must send the new URL, a replay gets the same redirect', () => {
    const { actions } = dead({
      attempts: 1,
      status: 302,
      error: { type: 'VIGIL_E_HTTP_STATUS', message: 'HTTP 302 (redirects are not followed)', class: 'permanent' },
    });
    expect(actions).toMatch(/answered HTTP 302, a redirect, which the webhooks service does not follow/);
    expect(actions).toMatch(/must send a new, corrected webhook.send with the URL the redirect points to/);
    expect(actions).not.toMatch(/once it is back/);
  });

  it('never sent (attempts 0): says why, that a replay fails the same way, and what the sender must fix', () => {
    const ftp = dead({
      url: 'ftp://files.example.com/x',
      attempts: 0,
      error: {
        type: 'ValidationError',
        message: 'invalid webhook.send data: url: Invalid URL',
        class: 'validation',
        code: 'VIGIL_E_INVALID_EVENT',
      },
    });
    expect(ftp.actions).toMatch(
      /^Never sent: the webhooks service refused the request itself, before any attempt \(invalid webhook.send data: url: Invalid URL\)/,
    );
    expect(ftp.actions).toMatch(/Replaying the dead letter would send the same request and fail the same way/);
    expect(ftp.actions).toMatch(
      /the sender of event type report.ready must send a new, corrected webhook.send with an http:\/\/ or https:\/\/ URL that has a host \(this one was ftp:\/\/files.example.com\/x\)/,
    );
    for (const wrong of [
      /Every delivery attempt failed/,
      /accepts our signature/,
      /the job needs/,
      /vigil dlq replay/,
    ]) {
      expect(ftp.actions).not.toMatch(wrong);
    }
    expect(ftp.mail.text).toMatch(/Error class:\s+validation \(never sent\)/);
    // the webhooks service's own URL check (webhook-request.ts) says the same
    const scheme = dead({
      url: 'gopher://e.example/x',
      attempts: 0,
      error: {
        type: 'ValidationError',
        message: 'webhook url must be http or https, got gopher:',
        class: 'validation',
        code: 'VIGIL_E_WEBHOOK_URL_REFUSED',
      },
    });
    expect(scheme.actions).toMatch(/with an http:\/\/ or https:\/\/ URL/);
    const big = dead({
      attempts: 0,
      error: {
        type: 'ValidationError',
        message: 'payload is 300000 bytes, the limit is 262144',
        class: 'validation',
        code: 'VIGIL_E_WEBHOOK_PAYLOAD_TOO_LARGE',
      },
    });
    expect(big.actions).toMatch(/with a payload of at most 256 KiB/);
  });

  it('a signing secret that does not exist is named; replay works once it exists, else a new request', () => {
    const { mail, actions } = dead({
      attempts: 0,
      error: {
        type: 'PermanentError',
        message: 'secret "partner-key" does not exist in the file provider',
        class: 'permanent',
        code: 'VIGIL_E_SECRET_NOT_FOUND',
      },
    });
    expect(actions).toMatch(
      /^Never sent: its signing secret partner-key \(secretName\) was not found at the secrets provider/,
    );
    expect(actions).toMatch(
      /If partner-key is the right name, create it at the secrets provider .*then replay it: `vigil dlq list`/,
    );
    expect(actions).toMatch(
      /If the name is wrong, a replay sends the same secretName and fails the same way: the sender of event type report.ready must send a new, corrected webhook.send/,
    );
    expect(actions).not.toMatch(/the job needs|Every delivery attempt failed/);
    expect(mail.text).toMatch(/Error class:\s+permanent \(never sent\)/);
    const unset = dead({
      attempts: 0,
      error: {
        type: 'PermanentError',
        message: 'no signing key: the request names no secretName and WEBHOOKS_SIGNING_SECRET is unset',
        class: 'permanent',
        code: 'VIGIL_E_SECRET_NOT_FOUND',
      },
    });
    expect(unset.actions).toMatch(/names no secretName and WEBHOOKS_SIGNING_SECRET is unset on the webhooks service/);
    expect(unset.actions).toMatch(
      /Set WEBHOOKS_SIGNING_SECRET \(whsec_…\) on the webhooks service and restart it, then replay it/,
    );
  });

  it('expired (never delivered within WEBHOOKS_MAX_AGE): replay once the destination is back', () => {
    const { mail, actions } = dead({
      attempts: 0,
      error: {
        type: 'VIGIL_E_WEBHOOK_EXPIRED',
        message: 'not delivered within 259200 s of being queued (WEBHOOKS_MAX_AGE; destination breaker open)',
        class: 'permanent',
      },
    });
    expect(actions).toMatch(/^Not delivered within WEBHOOKS_MAX_AGE of being queued \(0 attempt\(s\) made\)/);
    expect(actions).toMatch(
      /Once partner.example answers again, replay it: `vigil dlq list`.*a replay starts a fresh age/,
    );
    expect(actions).not.toMatch(/fails the same way/);
    expect(mail.text).toMatch(/Error class:\s+permanent \(expired: not delivered within WEBHOOKS_MAX_AGE/);
  });

  it('an internal address refused by the SSRF guard: allow it or send to the right URL', () => {
    const { actions } = dead({
      url: 'https://intranet.corp/hook',
      attempts: 1,
      error: {
        type: 'VIGIL_E_WEBHOOK_URL_REFUSED',
        message: 'refusing to send to intranet.corp (10.0.0.5: private address)',
        class: 'permanent',
      },
    });
    expect(actions).toMatch(/^Never sent: intranet.corp resolves to an internal address/);
    expect(actions).toMatch(/WEBHOOKS_ALLOWLIST=intranet.corp/);
  });
});

describe('secrets emails', () => {
  it('a refresh failure has nothing to re-run: it says what the service does by itself and what follows', () => {
    const alert = toAlert('secrets.refresh-failed', {
      id: '1',
      data: {
        names: ['openai', 'companies', 'partner-api-key'],
        severity: 'CRITICAL',
        cached: true,
        provider: 'aws',
        error: { type: 'InternalServiceError', message: '3 of 4 secrets failed to refresh', class: 'transient' },
      },
    })!;
    const actions = recommendedActions(alert).join('\n');
    expect(actions).not.toMatch(/re-run once the dependency is healthy/);
    expect(actions).toMatch(/Nothing to re-run: the secrets service asks the provider again by itself/);
    expect(actions).toMatch(/✅ RESOLVED/);
  });

  it('a stale secret says where the value came from, not a second "Source"', () => {
    const alert = toAlert('secrets.stale-served', {
      id: '2',
      data: { name: 'openai', ageSeconds: 120, provider: 'aws', source: 'last-known-good' },
    })!;
    const { text } = renderEmail(alert, { publicUrl });
    expect(text.match(/^ {2}Source:/gm)).toHaveLength(1);
    expect(text).toMatch(/Source:\s+secrets:aws/);
    expect(text).toMatch(/Served from:\s+last-known-good copy/);
    const memory = toAlert('secrets.stale-served', { id: '3', data: { name: 'db', provider: 'aws', source: 'aws' } })!;
    expect(memory.facts).toContainEqual(['Served from', 'cached copy (last fetched from aws)']);
  });
});

describe('follow-ups name what they folded', () => {
  const staleAlert = (name: string, id: string) =>
    toAlert('secrets.stale-served', {
      id,
      data: { name, provider: 'aws', error: { type: 'InternalServiceError', message: 'x' } },
    })!;
  const I = 300_000;

  it('the group keeps the folded secrets, the follow-up subject and body list them', () => {
    const first = staleAlert('partner-api-key', 'a');
    const key = groupKeyOf(first);
    let s: GroupState = decideOnAlert(undefined, key, first, 0, I).next;
    s = decideOnAlert(s, key, staleAlert('job_failure_recipients', 'b'), 1, I).next;
    s = decideOnAlert(s, key, staleAlert('openai', 'c'), 2, I).next;
    expect(unsentOf(s)).toEqual({
      count: 2,
      items: ['job_failure_recipients', 'openai'],
      what: 'stale secret served',
    });
    const f = takeFollowUp(s, I)!;
    expect(f).toMatchObject({ count: 2, items: ['job_failure_recipients', 'openai'] });
    // not sent: back in the group with its names
    expect(restoreFollowUp(f.next, f.count, I + 1, f.items).pendingItems).toEqual(['job_failure_recipients', 'openai']);

    const followUp = { count: f.count, sinceMs: 0, items: f.items };
    const mail = renderEmail(f.alert, { publicUrl, followUp });
    // the subject names what the headline does not (openai is there already); the body lists them all
    expect(mail.subject).toBe(
      '⚠️ WARNING: stale secret served: openai — InternalServiceError (+2 more: job_failure_recipients)',
    );
    expect(mail.text).toContain(
      '2 more alert(s) of this kind since 1970-01-01 00:00:00 UTC (job_failure_recipients, openai)',
    );
    expect(mail.html).toContain('(job_failure_recipients, openai)');
    expect(renderSlack(f.alert, { publicUrl, followUp }).text).toContain('(+2 more: job_failure_recipients)');
  });

  it('alerts that name nothing, or nothing the headline does not, keep the plain count', () => {
    const alert = toAlert('job.failed.daily-reports', failedEvent())!;
    const m = renderEmail(alert, { publicUrl, followUp: { count: 3, sinceMs: 0 } });
    expect(m.subject).toBe('🚨 CRITICAL: daily-reports failed — ConnectionError (+3 more)');
    const refresh = toAlert('secrets.refresh-failed', {
      id: 'r',
      data: { names: ['a', 'b'], provider: 'aws', severity: 'CRITICAL', error: { type: 'InternalServiceError' } },
    })!;
    const r = renderEmail(refresh, { publicUrl, followUp: { count: 1, sinceMs: 0, items: ['b', 'a'] } });
    expect(r.subject).toBe('🚨 CRITICAL: secrets refresh failed: a, b — InternalServiceError (+1 more)');
    expect(r.text).toContain('1 more alert(s) of this kind since 1970-01-01 00:00:00 UTC (b, a)');
  });
});
