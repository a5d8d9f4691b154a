import { ManualClock, type ServiceHandle } from '@vigil/shared';
import {
  type CapturedMail,
  collectEvents,
  type EventCollector,
  type FakeSecretsManager,
  startFakeSecretsManager,
  startRedis,
  type TestServer,
  waitFor,
} from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecretsService } from '@vigil/secrets';
import { type Harness, startHarness } from './harness.js';

// The live run: AWS (faked here by a local Secrets Manager behind the real SDK) fails, stale secrets are served and
// warm cycles fail; AWS recovers while the provider breaker is open. Seen then: a CRITICAL for breaker refusals after
// the recovery, no ✅ RESOLVED, "(+N more)" follow-ups of the recovered incident, and folded secrets named nowhere.
const NAMES = ['openai', 'companies', 'partner-api-key', 'job_failure_recipients'];
const INTERVAL = 5 * 60_000;
const WARM = 30 * 60_000;

let h: Harness;
let redis: TestServer;
let aws: FakeSecretsManager;
let secrets: ServiceHandle;
/** On `secrets.>` and `breaker.>`, not `>`: that would also see each JetStream delivery to the notifier (a copy). */
let events: EventCollector;
let breakerEvents: EventCollector;
const notifierClock = new ManualClock(Date.now());
const secretsClock = new ManualClock(Date.now());

beforeAll(async () => {
  [redis, aws] = await Promise.all([
    startRedis(),
    startFakeSecretsManager({
      openai: 'sk-live-openai',
      companies: 'companies-db-pw',
      'partner-api-key': 'pk-live-partner',
      // the notifier's own recipients live in the provider too (seed 000)
      job_failure_recipients: 'oncall@example.com',
    }),
  ]);
  h = await startHarness({ ALERT_GROUP_INTERVAL: '5m' }, notifierClock);
  events = collectEvents(h.nc, 'secrets.>');
  breakerEvents = collectEvents(h.nc, 'breaker.>');
  secrets = await startSecretsService({
    env: {
      NATS_URL: h.nats.url,
      REDIS_URL: redis.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
      AWS_ACCESS_KEY_ID: 'test-access-key',
      AWS_SECRET_ACCESS_KEY: 'test-secret-key',
      SECRET_NAMES: NAMES.join(','),
      SECRETS_TTL: '1m',
      SECRETS_WARM_INTERVAL: '30m',
      SECRETS_ERROR_BACKOFF: '1s',
      SECRETS_BREAKER_RESET: '300ms',
      VIGIL_JOBS_FILE: '/nonexistent/jobs.yaml',
    },
    clock: secretsClock,
    handleSignals: false,
  });
  await events.waitFor('secrets.refreshed');
}, 60_000);

afterAll(async () => {
  events?.stop();
  breakerEvents?.stop();
  await secrets?.stop();
  await h?.stop();
  await redis?.stop();
  await aws?.close();
});

// The provider breaker's own "circuit breaker … opened" emails come and go with it; these tests are about the rest.
const inbox = () => h.sink.messages.filter((m) => !/circuit breaker/.test(m.subject));
const mails = (re: RegExp) => inbox().filter((m) => re.test(m.subject));
const mail = (re: RegExp, what: string) =>
  waitFor(() => mails(re)[0], { timeout: 15_000, message: what }) as Promise<CapturedMail>;
/** `secrets.get` as a job would: during the outage it answers the stale value (and announces it once). */
const get = (name: string) => h.nc.request('secrets.get', JSON.stringify({ name }), { timeout: 5_000 });
const halfOpen = () => breakerEvents.of('breaker.half-open.secrets.secrets-provider').length;
const latestProviderBreakerEvent = () =>
  breakerEvents.events.filter((e) => e.subject.endsWith('.secrets.secrets-provider')).at(-1)?.subject;

describe('secrets outage and recovery, secrets service to inbox', () => {
  it('during the outage: stale WARNING and CRITICAL; the follow-up names the secrets it folded', async () => {
    aws.failWithInternalError();
    await secretsClock.advance(2 * 60_000); // past the 1-minute TTL: every read asks the provider, which fails
    await get('openai');
    const firstStale = await mail(/^⚠️ WARNING: stale secret served/, 'first stale WARNING');
    expect(firstStale.rcptTo).toEqual(['oncall@example.com']); // read (stale) from the secrets service
    await get('companies');
    await events.waitFor('secrets.stale-served', 3); // openai, companies, and the notifier's recipients secret

    await secretsClock.advance(WARM - 2 * 60_000); // the warm cycle meets the outage: 4/4 fail
    const critical = await mail(/^🚨 CRITICAL: secrets refresh failed/, 'CRITICAL');
    for (const n of NAMES) expect(critical.subject).toContain(n);
    expect(critical.text).not.toMatch(/re-run once the dependency is healthy/);
    expect(critical.text).toMatch(/Nothing to re-run/);
    await breakerEvents.waitFor('breaker.opened.secrets.secrets-provider');

    // a second failing cycle (the breaker half-open: one probe fails, the rest refused) folds into the same group
    await waitFor(() => halfOpen() >= 1, { message: 'breaker half-open' });
    await secretsClock.advance(WARM);
    const [, second] = await events.waitFor('secrets.refresh-failed', 2);
    expect(second.event.data.error.type).toBe('InternalServiceError'); // never VIGIL_E_BREAKER_OPEN
    await h.idle('VIGIL_SECRETS', 'notifier-secrets-refresh-failed');
    expect(mails(/^🚨 CRITICAL/)).toHaveLength(1);

    await notifierClock.advance(INTERVAL);
    const staleFollowUp = await mail(/^⚠️ WARNING: stale secret served.*\(\+2 more: /, 'stale follow-up');
    const staleNames = events.of('secrets.stale-served').map((e) => e.event.data.name as string);
    expect(new Set(staleNames)).toEqual(new Set(['openai', 'companies', 'job_failure_recipients']));
    // the first email named one secret, the follow-up the two it folded: each is named somewhere
    const folded = staleNames.filter((n) => !firstStale.subject.includes(`served: ${n} `));
    expect(folded).toHaveLength(2);
    for (const n of folded) expect(staleFollowUp.subject).toContain(n);
    const line = staleFollowUp.text.split('\n').find((l) => l.startsWith('2 more alert(s) of this kind since'));
    for (const n of folded) expect(line).toContain(n);
    await mail(/^🚨 CRITICAL: secrets refresh failed.*\(\+1 more\)$/, 'CRITICAL follow-up');
  }, 60_000);

  it('after the recovery: no CRITICAL for breaker refusals, one ✅ RESOLVED, no follow-up of the recovered incident', async () => {
    // still down: a third cycle and a third stale secret fold again, due after the next interval
    await secretsClock.advance(WARM);
    await events.waitFor('secrets.refresh-failed', 3);
    await get('partner-api-key');
    await events.waitFor('secrets.stale-served', 4);
    await h.idle('VIGIL_SECRETS', 'notifier-secrets-refresh-failed');
    await h.idle('VIGIL_SECRETS', 'notifier-secrets-stale-served');
    const before = inbox().length;

    // AWS answers again; the next warm cycle finds the breaker half-open (it re-opened on the third cycle)
    aws.recover();
    aws.setDelay(50); // the probe is still in flight while the other secrets ask
    // half-open again after the third cycle re-opened it: whether that happened before this line or after it (the
    // 300 ms reset can pass while the steps above run on a loaded machine), the provider breaker's latest event says
    await waitFor(() => latestProviderBreakerEvent()?.startsWith('breaker.half-open.'), {
      message: 'breaker half-open after the recovery',
    });
    await secretsClock.advance(WARM);
    const recovered = await waitFor(() =>
      events.of('secrets.refreshed').find((e) => e.event.data.recovered === true && e.event.data.total === 4),
    );
    expect(recovered.event.data.names).toHaveLength(4);
    expect(events.of('secrets.refresh-failed')).toHaveLength(3); // none for the refusals after the recovery

    const resolved = await mail(/^✅ RESOLVED: secrets provider recovered/, 'RESOLVED');
    expect(resolved.subject).toMatch(/^✅ RESOLVED: secrets provider recovered: aws answers again \(down /);
    expect(resolved.rcptTo).toEqual(['oncall@example.com']);
    expect(resolved.text).toMatch(/Down for:\s+(at least )?\d/);
    expect(resolved.text).toMatch(
      /Served stale during the outage:\s+(?=.*openai)(?=.*companies)(?=.*partner-api-key)(?=.*job_failure_recipients)/,
    );
    // what the groups still held back is counted in it, not sent after it
    expect(resolved.text).toMatch(
      /Unsent alerts folded before recovery:\s+2 \((?=.*1 stale secret served: partner-api-key)(?=.*1 secrets refresh failed: )/,
    );

    // every recovery event (one per secret that was served stale, and the warm cycle's) is handled: one email
    await h.idle('VIGIL_SECRETS', 'notifier-secrets-refreshed');
    expect(mails(/RESOLVED/)).toHaveLength(1);
    expect(
      inbox()
        .slice(before)
        .map((m) => m.subject),
    ).toEqual([resolved.subject]);

    // the recovered incident's groups are closed: its follow-ups, due now, are not sent
    await notifierClock.advance(2 * INTERVAL);
    await h.bus.publish('notify.send', { severity: 'INFO', title: 'sentinel', body: 'after the follow-ups were due' });
    await mail(/sentinel/, 'sentinel');
    expect(
      inbox()
        .slice(before)
        .map((m) => m.subject.replace(/ \(down .*/, '')),
    ).toEqual(['✅ RESOLVED: secrets provider recovered: aws answers again', 'ℹ️ INFO: sentinel']);
  }, 60_000);
});
