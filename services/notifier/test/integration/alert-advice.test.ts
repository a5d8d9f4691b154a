import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEnvelope, ManualClock, type ServiceHandle } from '@vigil/shared';
import {
  type CapturedMail,
  collectEvents,
  type EventCollector,
  type HttpReceiver,
  startHttpReceiver,
  startRedis,
  type TestServer,
  waitFor,
} from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecretsService } from '@vigil/secrets';
import { startWebhooksService } from '@vigil/webhooks';
import { type Harness, startHarness } from './harness.js';

// The walkthrough, end to end: a file secrets provider (SECRETS_PROVIDER=file) whose file loses a key and then goes
// away, and webhooks that die in different ways (never sent: ftp:// URL, a signing secret that does not exist;
// refused: 302; used-up retries: 503). What the on-call engineer reads must fit each case.
const INTERVAL = 5 * 60_000;
const WARM = 30 * 60_000;

let h: Harness;
let redis: TestServer;
let secrets: ServiceHandle;
let webhooks: ServiceHandle;
let receiver: HttpReceiver;
let dir: string;
let file: string;
let events: EventCollector;
const notifierClock = new ManualClock(Date.now());
const secretsClock = new ManualClock(Date.now());
const SIGNING = `whsec_${randomBytes(32).toString('base64')}`;

const yaml = (values: Record<string, string>) =>
  Object.entries(values)
    .map(([k, v]) => `${k}: "${v}"`)
    .join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-advice-'));
  file = join(dir, 'secrets.yaml');
  await writeFile(file, yaml({ openai: 'sk-test-openai', db: 'db-password' }));
  [redis, receiver] = await Promise.all([
    startRedis(),
    startHttpReceiver((req) =>
      req.url.startsWith('/moved')
        ? { status: 302, headers: { location: 'https://partner.example/new-hook' } }
        : { status: 503 },
    ),
  ]);
  h = await startHarness({ ALERT_GROUP_INTERVAL: '5m' }, notifierClock);
  events = collectEvents(h.nc, 'secrets.>');
  secrets = await startSecretsService({
    env: {
      NATS_URL: h.nats.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      SECRETS_PROVIDER: 'file',
      SECRETS_FILE: file,
      SECRET_NAMES: 'openai,db',
      SECRETS_TTL: '1m',
      SECRETS_WARM_INTERVAL: '30m',
      SECRETS_ERROR_BACKOFF: '1s',
      SECRETS_BREAKER_THRESHOLD: '100',
      VIGIL_JOBS_FILE: '/nonexistent/jobs.yaml',
    },
    clock: secretsClock,
    handleSignals: false,
  });
  await events.waitFor('secrets.refreshed');
  webhooks = await startWebhooksService({
    env: {
      NATS_URL: h.nats.url,
      REDIS_URL: redis.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      WEBHOOKS_SIGNING_SECRET: SIGNING,
      WEBHOOKS_ALLOW_PRIVATE: 'true',
      WEBHOOKS_BACKOFF_BASE: '50ms',
      WEBHOOKS_BREAKER_THRESHOLD: '100',
    },
    handleSignals: false,
  });
}, 60_000);

afterAll(async () => {
  events?.stop();
  await webhooks?.stop();
  await secrets?.stop();
  await h?.stop();
  await receiver?.close();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Breakers (the secrets provider's) come and go with the failures; these tests are about the rest.
const inbox = () => h.sink.messages.filter((m) => !/circuit breaker/.test(m.subject));
const mailsWith = (re: RegExp) => inbox().filter((m) => re.test(m.subject) || re.test(m.text));
const mail = (re: RegExp, what: string) =>
  waitFor(() => inbox().find((m) => re.test(m.subject)), { timeout: 20_000, message: what }) as Promise<CapturedMail>;
/** The RECOMMENDED ACTIONS section of a plain-text email. */
const actions = (m: CapturedMail) => m.text.split('\nRECOMMENDED ACTIONS\n')[1]?.split('\n\n')[0] ?? '';

describe('dead webhooks, webhooks service to inbox', () => {
  it('never sent (ftp:// URL): why, that a replay fails the same way, and what the sender must fix', async () => {
    const env = makeEnvelope('other-program', 'webhook.send', {
      id: 'wh-ftp',
      url: 'ftp://files.example.com/x',
      eventType: 'report.ready',
      payload: {},
    });
    const js = h.nc.jetstream();
    await js.publish('webhook.send', new TextEncoder().encode(JSON.stringify(env)));
    const m = await mail(/^⚠️ WARNING: webhook to files\.example\.com given up/, 'ftp webhook given up');
    const a = actions(m);
    expect(a).toMatch(/1\. Never sent: the webhooks service refused the request itself, before any attempt/);
    expect(a).toMatch(/Replaying the dead letter would send the same request and fail the same way/);
    expect(a).toMatch(/must send a new, corrected webhook.send with an http:\/\/ or https:\/\/ URL/);
    expect(a).not.toMatch(/Every delivery attempt failed|accepts our signature|the job needs|vigil dlq replay/);
    expect(m.text).toMatch(/Error class:\s+validation \(never sent\)/);
  }, 30_000);

  it('never sent (signing secret missing at the file provider): names the secret', async () => {
    await h.bus.publish('webhook.send', {
      id: 'wh-key',
      url: `${receiver.url}/ok`,
      eventType: 'report.ready',
      payload: {},
      secretName: 'no-such-key',
    });
    const m = await waitFor(() => mailsWith(/no-such-key/)[0], { timeout: 20_000, message: 'missing key email' });
    const a = actions(m);
    expect(a).toMatch(
      /1\. Never sent: its signing secret no-such-key \(secretName\) was not found at the secrets provider/,
    );
    expect(a).toMatch(/If no-such-key is the right name, create it at the secrets provider .* then replay it/);
    expect(a).toMatch(/If the name is wrong, a replay sends the same secretName and fails the same way/);
    expect(a).not.toMatch(/A secret the job needs|Every delivery attempt failed/);
    expect(receiver.requests.filter((r) => r.url === '/ok')).toHaveLength(0);
  }, 30_000);

  it('a 302 and used-up 503s to one host: separate groups; the follow-up names each folded webhook', async () => {
    const host = new URL(receiver.url).host;
    const subject = `⚠️ WARNING: webhook to ${host} given up — VIGIL_E_HTTP_STATUS`;
    await h.bus.publish('webhook.send', { id: 'wh-302', url: `${receiver.url}/moved`, eventType: 't', payload: {} });
    for (const id of ['wh-a', 'wh-b', 'wh-c'])
      await h.bus.publish('webhook.send', { id, url: `${receiver.url}/down`, eventType: 't', payload: {} });
    await h.events.waitFor('webhook.dead', 6, 30_000); // ftp, key, 302 and the three 503s
    await h.idle('VIGIL_WEBHOOKS', 'notifier-webhook-dead');
    const first = inbox().filter((m) => m.subject === subject);
    expect(first).toHaveLength(2); // the refusal is not folded into the retries' group (nor the other way round)
    const redirect = first.find((m) => /a redirect/.test(m.text))!;
    expect(actions(redirect)).toMatch(
      /answered HTTP 302, a redirect, which the webhooks service does not follow.*\n.*must send a new, corrected webhook.send with the URL the redirect points to/,
    );
    const retries = first.find((m) => /kept failing/.test(m.text))!;
    expect(actions(retries)).toMatch(
      /kept failing for all 4 attempts \(last answer HTTP 503\); once it is back, replay it: `vigil dlq list`/,
    );
    expect(retries.text).toMatch(/Error class:\s+transient \(retries exhausted after 4 attempts\)/);

    await notifierClock.advance(INTERVAL);
    const followUp = await mail(/\(\+2 more: wh-[abc], wh-[abc]\)$/, '503 follow-up');
    expect(followUp.subject.startsWith(`${subject} (+2 more: `)).toBe(true);
    const sentFirst = ['wh-a', 'wh-b', 'wh-c'].find((id) => retries.text.includes(`Webhook id: ${id}`))!;
    for (const id of ['wh-a', 'wh-b', 'wh-c'].filter((i) => i !== sentFirst)) {
      expect(followUp.subject).toContain(id);
      expect(followUp.text).toContain(`  - ${id} — HTTP 503 after 4 attempts (failing; replay once it is back)`);
    }
  }, 60_000);
});

describe('secrets emails with SECRETS_PROVIDER=file', () => {
  it('a key removed from the file: restore it or stop asking for it; not "the provider is failing"', async () => {
    await writeFile(file, yaml({ db: 'db-password' }));
    await secretsClock.advance(WARM);
    const m = await mail(/^⚠️ WARNING: secrets refresh failed: openai — ResourceNotFoundException/, 'not-found');
    const a = actions(m);
    expect(a).toMatch(
      // the file's path when the secrets service's error names it
      /1\. The secret openai no longer exists in the secrets file (\/\S+ \(SECRETS_FILE\)|\(SECRETS_FILE of the secrets service\)): put its key back in the file, or remove it from SECRET_NAMES \/ the jobs file/,
    );
    expect(a).toMatch(/The secrets service no longer serves it/);
    for (const wrong of [/AWS/, /provider is failing/, /SECRETS_CACHE_KEY/, /Nothing to re-run/])
      expect(a).not.toMatch(wrong);
    expect(m.text).toMatch(/Error class:\s+permanent \(openai no longer exists at the provider\)/);
    expect(m.text).toMatch(/Provider:\s+file/);
  }, 30_000);

  it('the file gone (ENOENT): the CRITICAL and the stale WARNING name the file, never AWS', async () => {
    await unlink(file);
    await secretsClock.advance(WARM);
    const critical = await mail(/^🚨 CRITICAL: secrets refresh failed: .* — ENOENT/, 'ENOENT critical');
    const a = actions(critical);
    expect(a).toMatch(
      new RegExp(`1\\. The secrets file ${file.replace(/[.]/g, '\\.')} \\(SECRETS_FILE\\) does not exist \\(ENOENT\\)`),
    );
    // openai has no cached value any more, and this service keeps no last-known-good copies
    expect(a).toMatch(/set SECRETS_CACHE_KEY on the secrets service .*\(it is unset: none are kept now\)/);
    expect(a).not.toMatch(/AWS|health\.aws/);

    const get = await h.nc.request('secrets.get', JSON.stringify({ name: 'db' }), { timeout: 5_000 });
    expect(JSON.parse(new TextDecoder().decode(get.data))).toMatchObject({ stale: true });
    const stale = await mail(/^⚠️ WARNING: stale secret served: db — ENOENT/, 'stale db');
    expect(actions(stale)).toMatch(
      new RegExp(`The secrets file ${file.replace(/[.]/g, '\\.')} \\(SECRETS_FILE\\) does not exist`),
    );
    expect(actions(stale)).not.toMatch(/AWS/);
  }, 30_000);
});
