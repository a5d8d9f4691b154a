import { describe, expect, it } from 'vitest';
import { groupKeyOf } from '../../src/alert.js';
import { decideOnAlert } from '../../src/grouping.js';
import { recommendedActions } from '../../src/recommended-actions.js';
import { renderSlack } from '../../src/slack-message.js';
import { SUBSCRIPTIONS } from '../../src/subscriptions.js';
import { toAlert } from '../../src/to-alert.js';
import { failedEvent, jobAlert, section } from './fixtures.js';

const publicUrl = 'http://127.0.0.1:8080';

const job = jobAlert;

describe('a missed slot: the advice follows the reason', () => {
  it('waiting behind a stuck run of its job: names that run, not the runners', () => {
    const reason =
      'not started within 120s of its request: it waits behind run 01M94STUCK of the job (concurrency forbid), stuck past its timeout';
    const { actions } = job('missed', { reason });
    expect(actions).toContain('waited behind run 01M94STUCK of the same job');
    expect(actions).toContain('vigil run 01M94STUCK');
    expect(actions).not.toContain('check that the runners are up');
  });

  const NATS =
    'could not be requested before its start deadline (30s): NATS was unavailable until 2026-11-24T02:01:10.000Z';

  it('never requested (NATS was unavailable): it did not run, the re-run is the action, check NATS', () => {
    const { mail, actions } = job('missed', { reason: NATS });
    expect(mail.subject).toBe('🚨 CRITICAL: daily-reports missed its start deadline');
    expect(actions).toMatch(
      /^The slot of 2026-11-24T02:00:00\.000Z did not run and will not run by itself: it was never requested \(could not be requested .*NATS was unavailable.*\)\. Re-run it with the command below/,
    );
    expect(actions).toMatch(/Check why NATS was unavailable at the slot: `vigil health`/);
    expect(actions).toMatch(/`catchUp` window/);
    expect(actions).not.toMatch(/still queued|Nothing to re-run|runner takes it/);
    const rerun = section(mail.text, 'RE-RUN');
    expect(rerun).not.toMatch(/Only if/);
    expect(rerun).toContain(
      'vigil trigger daily-reports --reason "re-run after 01RUN00000000000000000000A was missed"',
    );
  });

  it('a holder that died and NATS down: also never requested', () => {
    const { actions } = job('missed', {
      reason:
        'could not be requested before its start deadline (30s): its holder sched-1 did not request it and NATS was unavailable until 2026-11-24T02:01:10.000Z',
    });
    expect(actions).toMatch(/did not run and will not run by itself/);
    expect(actions).not.toMatch(/still queued/);
  });

  it("a newer slot ran as catch-up instead: re-run only for this slot's own work, no catchUp advice", () => {
    const { actions } = job('missed', { reason: `${NATS}; a newer slot runs as catch-up instead` });
    expect(actions).toMatch(/A newer slot ran in its place: re-run this one with the command below only if/);
    expect(actions).not.toMatch(/catchUp/);
  });

  it('the scheduler was down without catchUp: did not run, check the scheduler', () => {
    const { actions } = job('missed', { reason: 'scheduler was down and the job has no catchUp window' });
    expect(actions).toMatch(/did not run and will not run by itself/);
    expect(actions).toMatch(/Check why the scheduler was down/);
  });

  it('requested but not started (the watchdog): still queued advice', () => {
    const { actions } = job('missed', { reason: 'not started within 120s of its slot' });
    expect(actions).toMatch(/still queued/);
    expect(actions).not.toMatch(/will not run by itself/);
  });
});

describe('job.skipped of a scheduled slot', () => {
  const reason = 'run daily-reports-20261124T0100 is still running (concurrency forbid)';

  it('is a WARNING naming the run it waited for, with a re-run once that run has finished', () => {
    const { alert, mail, actions } = job('skipped', { reason, attempt: 1, finishedAt: undefined });
    expect(mail.subject).toBe('⚠️ WARNING: daily-reports skipped a scheduled run');
    expect(mail.text).toMatch(/Waited for:\s+run daily-reports-20261124T0100, still running at the slot/);
    expect(mail.text).toMatch(/Skipped slot:\s+2026-11-24T02:00:00\.000Z/);
    expect(actions).toMatch(
      /^The slot of 2026-11-24T02:00:00\.000Z did not run and will not run by itself: run daily-reports-20261124T0100 was still running/,
    );
    expect(actions).toContain('`vigil run daily-reports-20261124T0100`');
    const rerun = section(mail.text, 'RE-RUN');
    expect(rerun).toMatch(/Only once run daily-reports-20261124T0100 has finished/);
    expect(rerun).toContain(
      'vigil trigger daily-reports --reason "re-run after 01RUN00000000000000000000A was skipped"',
    );
    const slack = renderSlack(alert, { publicUrl });
    expect(slack.text).toContain('Waited for: run daily-reports-20261124T0100');
  });

  it('a run queued and never started (runners down, reports paused) is told apart from one still running', () => {
    const queued = 'run tick.1796547765 is queued since 14:03 UTC and has not started (concurrency forbid)';
    const { mail, actions } = job('skipped', { reason: queued, attempt: 1, finishedAt: undefined });
    expect(mail.text).toMatch(/Waited for:\s+run tick\.1796547765, queued since 14:03 UTC and not started at the slot/);
    expect(actions).not.toMatch(/still running|takes longer than the schedule's interval/);
    expect(actions).toMatch(/run tick\.1796547765 was queued since 14:03 UTC and had not started/);
    expect(actions).toContain(
      'run tick.1796547765 is queued since 14:03 UTC and has not started: are runners up? `vigil health`',
    );
    expect(actions).toContain('`vigil run tick.1796547765`');
    const rerun = section(mail.text, 'RE-RUN');
    expect(rerun).toMatch(/Only once run tick\.1796547765 \(queued since 14:03 UTC, not started\) has run/);
  });

  it('is grouped like other job alerts: a second skipped slot folds into the follow-up', () => {
    const a = job('skipped', { reason }).alert;
    const b = toAlert('job.skipped.daily-reports', {
      ...failedEvent({ status: 'skipped', reason, error: undefined }),
      id: 'e2',
    })!;
    const first = decideOnAlert(undefined, groupKeyOf(a), a, 0, 300_000);
    expect(first.action).toBe('send');
    expect(decideOnAlert(first.next, groupKeyOf(b), b, 1_000, 300_000).action).toBe('fold');
  });

  it('a manual trigger refused at the API sends nothing (its caller got the 409)', () => {
    const ev = failedEvent({
      status: 'skipped',
      trigger: 'manual',
      error: undefined,
      reason: `manual trigger refused: ${reason}; force: true (vigil trigger --force) starts another`,
    });
    expect(toAlert('job.skipped.daily-reports', ev)).toBeUndefined();
  });

  it('the notifier consumes job.skipped', () => {
    expect(SUBSCRIPTIONS.map((s) => s.subject)).toContain('job.skipped.>');
  });
});

describe('job failure advice', () => {
  it("a NatsError TIMEOUT is Vigil's own broker: check NATS, not the provider", () => {
    const { mail, actions } = job('failed', {
      error: { type: 'NatsError', code: 'TIMEOUT', message: 'TIMEOUT', class: 'transient' },
    });
    expect(mail.subject).toBe('🚨 CRITICAL: daily-reports failed — NatsError');
    expect(actions).toMatch(
      /^NATS, Vigil's own message broker, did not answer \(TIMEOUT\).*`vigil health`.*re-run once it answers/,
    );
    expect(actions).not.toMatch(/status page|longer timeout/);
  });

  it('VIGIL_E_NATS_UNAVAILABLE and a 503 NatsError alike', () => {
    for (const error of [
      { type: 'TransientError', code: 'VIGIL_E_NATS_UNAVAILABLE', message: 'publish: NATS unavailable (TIMEOUT)' },
      { type: 'NatsError', code: '503', message: '503' },
      { type: 'NatsError', code: 'CONNECTION_CLOSED', message: 'CONNECTION_CLOSED' },
    ]) {
      const { actions } = job('failed', { error: { ...error, class: 'transient' } });
      expect(actions).toMatch(/^NATS, Vigil's own message broker/);
      expect(actions).not.toMatch(/provider answered 503|status page/);
    }
  });

  it('attempt 1 with every target failed inside the handler: no retries are claimed; backup or --target covers them', () => {
    const { mail, actions } = job('failed', {
      attempt: 1,
      error: { type: 'ProviderError', message: 'upstream said no', class: 'transient' },
      stats: { targets: 2, succeeded: 0, failed: 2, skipped: 0 },
      failures: [
        { target: 'acme', error: { type: 'ProviderError', message: 'upstream said no' } },
        { target: 'globex', error: { type: 'ProviderError', message: 'upstream said no' } },
      ],
    });
    expect(mail.text).toMatch(/Attempt:\s+1/);
    expect(actions).not.toMatch(/outlasted the retries/);
    expect(actions).toMatch(
      /^All 2 targets failed inside the handler on the first attempt; per-target failures are not retried at run level, so no retry happened\. If the job has a `backup` window, its backup run re-runs only the failed targets.*--target acme --target globex/,
    );
  });

  it('attempt 3: the retries did happen', () => {
    const { actions } = job('failed', {
      attempt: 3,
      error: { type: 'ProviderError', message: 'upstream said no', class: 'transient' },
      failures: undefined,
    });
    expect(actions).toMatch(/outlasted the retries/);
  });
});

describe('a webhook given up: replay line and Slack text', () => {
  const dead = (data: Record<string, unknown>) =>
    toAlert('webhook.dead', {
      id: 'ev-1',
      time: '2026-11-24T03:00:00.000Z',
      data: { id: 'wh-1', url: 'https://partner.example/hook', eventType: 'report.ready', ...data },
    })!;

  it('says how to find the seq by the webhook id, and where the HTTP API is', () => {
    const alert = dead({ attempts: 4, status: 503, error: { type: 'VIGIL_E_HTTP_STATUS', message: 'HTTP 503' } });
    const actions = recommendedActions(alert, 'npx vigil');
    expect(actions.join('\n')).toContain('replay it: `npx vigil dlq list`, then `npx vigil dlq replay <seq>`');
    expect(actions.at(-1)).toBe(
      'Finding the seq to replay: in `npx vigil dlq list`, the SEQ of the row with ORIGINAL SUBJECT webhook.send whose ERROR begins `webhook wh-1 `. Over HTTP it is `GET /api/dlq?subject=webhook.send`, then `POST /api/dlq/<seq>/replay` with `Authorization: Bearer $VIGIL_API_TOKEN`, both on the webhooks service itself (its HTTP_PORT, 8084 by default; not VIGIL_PUBLIC_URL, which is the scheduler).',
    );
    expect(actions.join('\n')).not.toContain('/api/dlq/:seq/replay');
  });

  it('a request never sent is found by its payload id (its error does not name it)', () => {
    const alert = dead({
      attempts: 0,
      error: { type: 'PermanentError', message: 'secret "k" does not exist in the file provider', class: 'permanent' },
      secretName: 'k',
    });
    const how = recommendedActions(alert).at(-1) ?? '';
    expect(how).toContain('`vigil --json dlq list | jq \'.[] | select(.data.data.id == "wh-1") | .seq\'`');
  });

  it('the Slack fallback names the webhook id and URL', () => {
    const alert = dead({ attempts: 4, status: 503, error: { type: 'VIGIL_E_HTTP_STATUS', message: 'HTTP 503' } });
    const slack = renderSlack(alert, { publicUrl });
    expect(slack.text).toContain('Webhook id: wh-1');
    expect(slack.text).toContain('URL: https://partner.example/hook');
    expect(JSON.stringify(slack.blocks)).toContain('*Webhook id:* wh-1');
  });
});
