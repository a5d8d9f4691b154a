import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@vigil/shared';
import { collectEvents, waitFor } from '@vigil/shared/testing';
import { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LKG_KEY_PREFIX } from '../src/lkg-store.js';
import { capturedLogLines, rawGet, type Stack, startService, startStack, stopStack } from './helpers.js';

const SECRET_VALUES = {
  'db-password': 'Pw-7f3a9c1e-db-password-value',
  'api-key': 'Key-2b8d4e6f-api-key-value',
  'smtp-creds': JSON.stringify({ user: 'mailer', password: 'Smtp-9e1c3a5b-password' }),
};
const ALL_VALUES = ['Pw-7f3a9c1e', 'Key-2b8d4e6f', 'Smtp-9e1c3a5b', 'Warm-5d2a', 'Cold-4c1b'];

let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  ({ stack, nc } = await startStack(SECRET_VALUES));
});

afterAll(async () => {
  await stopStack(stack, nc);
  // The run's logs (service, breaker, client) must never contain a secret value.
  const all = capturedLogLines.join('\n');
  expect(capturedLogLines.length).toBeGreaterThan(20);
  for (const v of ALL_VALUES) expect(all).not.toContain(v);
});

beforeEach(() => {
  stack.fake.recover();
  stack.fake.setDelay(0);
  stack.fake.resetCalls();
});

describe('secrets service (real AWS SDK -> fake Secrets Manager, real NATS and Redis)', () => {
  it('serves fresh values, then stale with age through an InternalServiceError outage, then recovers', async () => {
    const events = collectEvents(nc, 'secrets.>');
    const { svc, clock } = await startService(stack, { SECRET_NAMES: 'db-password,api-key', SECRETS_TTL: '10m' });
    try {
      await events.waitFor('secrets.refreshed'); // first warm cycle at start
      const fresh = await rawGet(nc, 'db-password');
      expect(fresh.body).toMatchObject({
        name: 'db-password',
        value: SECRET_VALUES['db-password'],
        version: 'v1',
        stale: false,
        source: 'aws',
      });

      stack.fake.failWithInternalError();
      await clock.advance(30 * 60_000); // TTL gone; the warm cycle meets the outage
      await events.waitFor('secrets.refresh-failed');
      const stale = await rawGet(nc, 'db-password');
      expect(stale.body).toMatchObject({ value: SECRET_VALUES['db-password'], stale: true, ageSeconds: 1800 });
      for (let i = 0; i < 5; i++) expect((await rawGet(nc, 'db-password')).body.stale).toBe(true);
      await clock.advance(2_000);
      await rawGet(nc, 'db-password'); // one more provider attempt in the background
      await waitFor(() => capturedLogLines.filter((l) => l.includes('age 1802s')).length > 0);

      const staleEvents = await events.waitFor('secrets.stale-served');
      expect(staleEvents).toHaveLength(1);
      expect(staleEvents[0].event.data).toMatchObject({
        name: 'db-password',
        ageSeconds: 1800,
        error: { type: 'InternalServiceError' },
      });
      expect(
        capturedLogLines.some((l) =>
          l.includes('provider error InternalServiceError — serving stale value, age 1800s'),
        ),
      ).toBe(true);

      stack.fake.recover();
      await clock.advance(2_000);
      const recovered = await waitFor(async () => {
        const a = await rawGet(nc, 'db-password');
        return a.body?.stale === false ? a : undefined;
      });
      expect(recovered.body.value).toBe(SECRET_VALUES['db-password']);
      expect(recovered.body.ageSeconds).toBeLessThanOrEqual(2); // fetched after recovery, not the old value
      const refreshed = await waitFor(() =>
        events
          .of('secrets.refreshed')
          .find((e) => e.event.data.recovered === true && e.event.data.names.includes('db-password')),
      );
      expect(refreshed.event.data.provider).toBe('aws');
      expect(events.of('secrets.stale-served')).toHaveLength(1);

      const metrics = await (await fetch(`${svc.url}/metrics`)).text();
      expect(metrics).toMatch(/vigil_secrets_stale_served_total\{name="db-password"\} [1-9]/);
      expect(metrics).toMatch(/vigil_secrets_provider_seconds_count\{provider="aws",result="error"\} [1-9]/);
      expect(metrics).toContain('vigil_secrets_cache_age_seconds{name="db-password"}');
    } finally {
      events.stop();
      await svc.stop();
    }
  });

  it('opens the breaker after repeated failures (no more provider calls, still serving stale), closes on recovery', async () => {
    const events = collectEvents(nc, 'breaker.>');
    const { svc, clock } = await startService(stack, {
      SECRET_NAMES: 'api-key',
      SECRETS_TTL: '1m',
      SECRETS_BREAKER_THRESHOLD: '2',
      SECRETS_BREAKER_RESET: '300ms',
    });
    try {
      expect((await rawGet(nc, 'api-key')).body.stale).toBe(false);
      stack.fake.failWithInternalError();
      await clock.advance(2 * 60_000);
      expect((await rawGet(nc, 'api-key')).body.stale).toBe(true); // failure 1
      await clock.advance(2_000);
      await rawGet(nc, 'api-key'); // failure 2 in the background -> open
      await events.waitFor('breaker.opened.secrets.secrets-provider');
      stack.fake.resetCalls();
      await clock.advance(2_000);
      expect((await rawGet(nc, 'api-key')).body).toMatchObject({ value: SECRET_VALUES['api-key'], stale: true });
      expect(stack.fake.calls('api-key')).toBe(0);

      stack.fake.recover();
      await new Promise((r) => setTimeout(r, 400)); // the breaker's own reset timer (real time)
      await clock.advance(2_000);
      await waitFor(async () => (await rawGet(nc, 'api-key')).body.stale === false);
      await events.waitFor('breaker.closed.secrets.secrets-provider');
    } finally {
      events.stop();
      await svc.stop();
    }
  });

  it('cold start with the provider down and no last-known-good copy answers 503 with a clear message', async () => {
    stack.fake.failWithInternalError();
    const { svc } = await startService(stack, { SECRET_NAMES: 'db-password' });
    try {
      const answer = await rawGet(nc, 'db-password');
      expect(answer.code).toBe('503');
      expect(answer.description).toMatch(
        /secret "db-password" is unavailable: provider error InternalServiceError and no value has been cached/,
      );
      expect((await rawGet(nc, 'no-such-secret')).code).toBe('503');
      stack.fake.recover();
      expect((await rawGet(nc, 'no-such-secret')).code).toBe('404');
    } finally {
      await svc.stop();
    }
  });

  it('restart during an outage serves the sealed Redis copy as stale; Redis holds no plaintext', async () => {
    const key = randomBytes(32).toString('base64');
    const env = { SECRET_NAMES: 'api-key,smtp-creds', SECRETS_CACHE_KEY: key };
    const first = await startService(stack, env);
    const redis = new Redis(stack.redis.url);
    try {
      expect((await rawGet(nc, 'api-key')).body.value).toBe(SECRET_VALUES['api-key']);
      const raw = await waitFor(() => redis.get(`${LKG_KEY_PREFIX}smtp-creds`));
      expect(raw).not.toContain('Smtp-9e1c3a5b');
      expect(raw).not.toContain('mailer');
      expect(JSON.parse(raw)).toMatchObject({ v: 1, alg: 'AES-256-GCM', kid: expect.stringMatching(/^[0-9a-f]{8}$/) });
      const apiRaw = await redis.get(`${LKG_KEY_PREFIX}api-key`);
      expect(apiRaw).not.toContain('Key-2b8d4e6f');
      await first.svc.stop();

      stack.fake.failWithInternalError();
      const second = await startService(stack, env);
      try {
        const answer = await rawGet(nc, 'smtp-creds');
        expect(answer.body).toMatchObject({
          value: SECRET_VALUES['smtp-creds'],
          stale: true,
          source: 'last-known-good',
        });
      } finally {
        await second.svc.stop();
      }

      // Another key cannot open the copies: nothing to serve.
      const third = await startService(stack, { ...env, SECRETS_CACHE_KEY: randomBytes(32).toString('base64') });
      try {
        expect((await rawGet(nc, 'api-key')).code).toBe('503');
      } finally {
        await third.svc.stop();
      }
    } finally {
      redis.disconnect();
      await first.svc.stop();
    }
  });

  it('a secret deleted at the provider is not brought back from its Redis copy by a restart', async () => {
    const env = { SECRET_NAMES: 'api-key', SECRETS_CACHE_KEY: randomBytes(32).toString('base64'), SECRETS_TTL: '1s' };
    const first = await startService(stack, env);
    const redis = new Redis(stack.redis.url);
    try {
      expect((await rawGet(nc, 'api-key')).body.value).toBe(SECRET_VALUES['api-key']);
      await waitFor(() => redis.get(`${LKG_KEY_PREFIX}api-key`));
      stack.fake.deleteSecret('api-key');
      await first.clock.advance(2_000);
      expect((await rawGet(nc, 'api-key')).code).toBe('404');
      expect(await redis.get(`${LKG_KEY_PREFIX}api-key`)).toBeNull();
      await first.svc.stop();
      stack.fake.failWithInternalError();
      const second = await startService(stack, env);
      try {
        expect((await rawGet(nc, 'api-key')).code).toBe('503');
      } finally {
        await second.svc.stop();
      }
    } finally {
      stack.fake.setSecret('api-key', SECRET_VALUES['api-key']);
      redis.disconnect();
      await first.svc.stop();
    }
  });

  it('a warm cycle meeting a deleted AWS secret reports it as permanent (ResourceNotFoundException), not transient', async () => {
    stack.fake.setSecret('doomed', 'Warm-5d2a-doomed');
    const events = collectEvents(nc, 'secrets.>');
    const { svc, clock } = await startService(stack, { SECRET_NAMES: 'doomed', SECRETS_WARM_INTERVAL: '30m' });
    try {
      await waitFor(() => events.of('secrets.refreshed').find((e) => e.event.data.names.includes('doomed')));
      stack.fake.deleteSecret('doomed');
      await clock.advance(30 * 60_000);
      const [failed] = await events.waitFor('secrets.refresh-failed');
      expect(failed.event.data).toMatchObject({
        names: ['doomed'],
        cached: false,
        error: { type: 'ResourceNotFoundException', class: 'permanent' },
        failed: [{ name: 'doomed', type: 'ResourceNotFoundException', class: 'permanent', cached: false }],
      });
      expect(failed.event.data.failed[0].error).toMatch(/does not exist in the aws provider.*answers 404/);
      expect((await rawGet(nc, 'doomed')).code).toBe('404');
    } finally {
      events.stop();
      await svc.stop();
    }
  });

  it('keeps serving when Redis is down (last-known-good enabled)', async () => {
    const { svc } = await startService(stack, {
      SECRET_NAMES: 'db-password',
      SECRETS_CACHE_KEY: randomBytes(32).toString('base64'),
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    try {
      expect((await rawGet(nc, 'db-password')).body.value).toBe(SECRET_VALUES['db-password']);
    } finally {
      await svc.stop();
    }
  });

  it('warming with 3 of 5 failing publishes exactly one CRITICAL secrets.refresh-failed naming the 3', async () => {
    for (const n of ['w1', 'w2', 'w3', 'w4', 'w5']) stack.fake.setSecret(n, `Warm-5d2a-${n}`);
    stack.fake.failWithInternalError(['w1', 'w3', 'w5']);
    const events = collectEvents(nc, 'secrets.>');
    const { svc, clock } = await startService(stack, { SECRET_NAMES: 'w1,w2,w3,w4,w5', SECRETS_WARM_INTERVAL: '30m' });
    try {
      const [failed] = await events.waitFor('secrets.refresh-failed');
      expect(failed.event.data).toMatchObject({ total: 5, refreshed: 2, severity: 'CRITICAL' });
      expect([...failed.event.data.names].sort()).toEqual(['w1', 'w3', 'w5']);
      expect(failed.event.data.failed.map((f: { name: string }) => f.name).sort()).toEqual(['w1', 'w3', 'w5']);
      expect(failed.event.data.failed[0].type).toBe('InternalServiceError');
      // The status endpoint shows ages and errors, never values.
      const status = JSON.parse(
        new TextDecoder().decode((await nc.request('secrets.status', undefined, { timeout: 2000 })).data),
      );
      expect(status.map((s: { name: string; cached: boolean }) => `${s.name}:${s.cached}`)).toEqual([
        'w1:false',
        'w2:true',
        'w3:false',
        'w4:true',
        'w5:false',
      ]);
      expect(status[0]).toMatchObject({ ageSeconds: null, stale: true, lastError: { type: 'InternalServiceError' } });
      expect(status[1]).toMatchObject({ ageSeconds: 0, source: 'aws', stale: false, expiresInSeconds: 3600 });
      expect(JSON.stringify(status)).not.toContain('Warm-5d2a');

      stack.fake.recover();
      await clock.advance(30 * 60_000);
      const ok = await waitFor(() => events.of('secrets.refreshed').find((e) => e.event.data.recovered === true));
      expect(ok.event.data.names).toHaveLength(5);
      expect(events.of('secrets.refresh-failed')).toHaveLength(1);
    } finally {
      events.stop();
      await svc.stop();
    }
  });

  it('two replicas that both saw the outage: one secrets.refreshed says recovered, not one per replica', async () => {
    for (const n of ['rr1', 'rr2']) stack.fake.setSecret(n, `Replica-77e1-${n}`);
    const env = { SECRET_NAMES: 'rr1,rr2', SECRETS_WARM_INTERVAL: '30m' };
    const events = collectEvents(nc, 'secrets.>');
    const a = await startService(stack, env);
    const b = await startService(stack, env);
    try {
      await events.waitFor('secrets.refreshed', 2);
      stack.fake.failWithInternalError(['rr1', 'rr2']);
      await a.clock.advance(30 * 60_000);
      await b.clock.advance(30 * 60_000);
      await events.waitFor('secrets.refresh-failed', 2);

      stack.fake.recover();
      await a.clock.advance(30 * 60_000);
      await events.waitFor('secrets.refreshed', 3);
      await b.clock.advance(30 * 60_000);
      const good = await events.waitFor('secrets.refreshed', 4);
      expect(good.slice(2).map((e) => e.event.data.recovered)).toEqual([true, false]);
    } finally {
      events.stop();
      await Promise.all([a.svc.stop(), b.svc.stop()]);
    }
  });

  it('100 concurrent cold gets make one provider call', async () => {
    stack.fake.setSecret('cold', 'Cold-4c1b-value');
    stack.fake.setDelay(150);
    const { svc } = await startService(stack, { SECRET_NAMES: 'unrelated' });
    try {
      stack.fake.resetCalls();
      const answers = await Promise.all(Array.from({ length: 100 }, () => rawGet(nc, 'cold')));
      expect(answers.every((a) => a.body?.value === 'Cold-4c1b-value')).toBe(true);
      expect(stack.fake.calls('cold')).toBe(1);
    } finally {
      await svc.stop();
    }
  });

  it('answers 404 for a secret the provider does not have', async () => {
    const { svc } = await startService(stack, { SECRET_NAMES: 'db-password' });
    try {
      const a = await rawGet(nc, 'missing-secret');
      expect(a.code).toBe('404');
      expect(a.description).toContain('missing-secret');
      expect(ErrorCode.SECRET_NOT_FOUND).toBeDefined();
    } finally {
      await svc.stop();
    }
  });

  it('answers 400 to a name with CR/LF or other bad characters and keeps serving afterwards', async () => {
    const { svc } = await startService(stack, { SECRET_NAMES: 'db-password' });
    try {
      for (const bad of ['a\nb', 'a\r\nNats-Service-Error: x', 'tab\there', 'has space', 'x'.repeat(513)]) {
        const a = await rawGet(nc, bad);
        expect(a.code).toBe('400');
        expect(a.description).toContain('invalid secret name');
        expect(a.description).not.toMatch(/[\r\n]/);
      }
      const raw = async (data: string) => {
        const msg = await nc.request('secrets.get', new TextEncoder().encode(data), { timeout: 5_000 });
        return msg.headers?.get('Nats-Service-Error-Code');
      };
      expect(await raw('not json')).toBe('400');
      expect(await raw('{"name":5}')).toBe('400');
      // Still alive: a valid request right after gets its value.
      expect((await rawGet(nc, 'db-password')).body).toMatchObject({ name: 'db-password', stale: false });
      // AWS-style names (/ _ + = . @ -) pass the name rule and reach the provider.
      const a = await rawGet(nc, 'team/app_key+v2=x.y@z-1');
      expect(a.code).toBe('404');
      expect(a.description).toContain('team/app_key+v2=x.y@z-1');
    } finally {
      await svc.stop();
    }
  });
});

describe('secrets client against the real service', () => {
  it('resolves templates, keeps its last value when the service goes away, and never logs values', async () => {
    const { createLogger, createSecretsClient } = await import('@vigil/shared');
    const { captureStream } = await import('./helpers.js');
    const logger = createLogger({ service: 'client-test', destination: captureStream() });
    const { svc } = await startService(stack, { SECRET_NAMES: 'smtp-creds' });
    const client = createSecretsClient(nc, { logger, cacheTtlMs: 0, timeoutMs: 500 });
    let stopped = false;
    try {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Vigil secret template, not a JS one
      const text = await client.resolveTemplate('user=${secret:smtp-creds.user} pw=${secret:smtp-creds.password}');
      expect(text).toBe('user=mailer pw=Smtp-9e1c3a5b-password');
      logger.info({ text }, `resolved ${text}`); // redacted: the client registered the values
      await svc.stop();
      stopped = true;
      const fallback = await client.get('smtp-creds');
      expect(fallback).toMatchObject({ value: SECRET_VALUES['smtp-creds'], stale: true });
      await expect(client.get('api-key')).rejects.toMatchObject({ code: ErrorCode.SECRET_UNAVAILABLE });
      expect(capturedLogLines.some((l) => l.includes('client-test') && l.includes('[REDACTED]'))).toBe(true);
    } finally {
      if (!stopped) await svc.stop();
    }
  });
});
