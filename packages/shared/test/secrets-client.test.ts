// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these are Vigil ${secret:…} templates, not JS ones
import { Writable } from 'node:stream';
import { connect, JSONCodec, type NatsConnection, type Service } from 'nats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  createSecretsClient,
  ErrorCode,
  MAX_STALE_REFUSAL,
  PermanentError,
  TransientError,
} from '../src/index.js';
import { startNats, type TestServer } from '../src/testing/index.js';

const jc = JSONCodec();
const SECRETS: Record<string, string> = {
  plain: 'Plain-41c7-secret',
  db: JSON.stringify({ user: 'app', password: 'Db-93ab-password', nested: { token: 'Tok-77de-nested' } }),
  'dotted.name': 'Dotted-12fe-value',
  pg: JSON.stringify({ host: 'pg-3c1d.internal', port: 5432, ssl: true, replicas: null, password: 'Pg-55aa-pass' }),
};

let nats: TestServer;
let nc: NatsConnection;
let service: Service | undefined;
let calls = 0;
let mode: 'serve' | 'unavailable' | 'too-old' = 'serve';
const lines: string[] = [];
const logger = createLogger({
  service: 'secrets-client-test',
  destination: new Writable({
    write(chunk, _e, cb) {
      lines.push(String(chunk));
      cb();
    },
  }),
});

/** A real `vigil-secrets` responder on real NATS, answering like the service does. */
async function startResponder() {
  service = await nc.services.add({ name: 'vigil-secrets', version: '0.0.1' });
  service.addEndpoint('secrets-get', {
    subject: 'secrets.get',
    handler: (_err, msg) => {
      calls++;
      const { name } = jc.decode(msg.data) as { name: string };
      if (mode === 'unavailable') return void msg.respondError(503, `secret "${name}" is unavailable: provider down`);
      if (mode === 'too-old')
        return void msg.respondError(503, `secret "${name}" is unavailable: ${MAX_STALE_REFUSAL}`);
      const value = SECRETS[name];
      if (value === undefined) return void msg.respondError(404, `secret "${name}" does not exist`);
      setTimeout(() => msg.respond(jc.encode({ name, value, stale: false, ageSeconds: 3, source: 'file' })), 20);
    },
  });
}

beforeAll(async () => {
  nats = await startNats({ jetstream: false });
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await service?.stop().catch(() => undefined);
  await nc?.close();
  await nats?.stop();
  const all = lines.join('');
  for (const v of ['Plain-41c7', 'Db-93ab', 'Tok-77de', 'Dotted-12fe', 'Pg-55aa', 'pg-3c1d']) {
    expect(all).not.toContain(v);
  }
});
beforeEach(async () => {
  calls = 0;
  mode = 'serve';
  if (!service || service.isStopped) await startResponder();
});

describe('createSecretsClient', () => {
  it('gets a value, reuses it within the cache TTL, and single-flights concurrent gets', async () => {
    let now = 1_000_000;
    const client = createSecretsClient(nc, { logger, now: () => now });
    const all = await Promise.all(Array.from({ length: 20 }, () => client.get('plain')));
    expect(all[0]).toMatchObject({ name: 'plain', value: SECRETS.plain, stale: false, ageSeconds: 3, source: 'file' });
    expect(calls).toBe(1);
    now += 10_000;
    expect((await client.get('plain')).ageSeconds).toBe(13);
    expect(calls).toBe(1);
    now += 30_000;
    await client.get('plain');
    expect(calls).toBe(2);
  });

  it('registers every value (and JSON fields) for log redaction', async () => {
    const client = createSecretsClient(nc, { logger });
    const s = await client.get('db');
    logger.info({ leaked: s.value }, `password is Db-93ab-password and token Tok-77de-nested`);
    expect(lines.at(-1)).toContain('[REDACTED]');
  });

  it('redacts the string fields of a JSON secret but never its numbers or booleans', async () => {
    const client = createSecretsClient(nc, { logger });
    await client.get('pg');
    expect(await client.resolveTemplate('port=${secret:pg.port} ssl=${secret:pg.ssl}')).toBe('port=5432 ssl=true');
    logger.info(
      { durationMs: 5432, ok: true, replicas: null, host: 'pg-3c1d.internal' },
      'took 5432 ms, pass Pg-55aa-pass',
    );
    const raw = lines.at(-1) ?? '';
    const line = JSON.parse(raw);
    expect(line).toMatchObject({ durationMs: 5432, ok: true, replicas: null, host: '[REDACTED]' });
    expect(line.msg).toBe('took 5432 ms, pass [REDACTED]');
    expect(raw).not.toContain('Pg-55aa-pass');
  });

  it('not found -> PermanentError SECRET_NOT_FOUND', async () => {
    const client = createSecretsClient(nc, { logger });
    const err = await client.get('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toBe(ErrorCode.SECRET_NOT_FOUND);
  });

  it('falls back to its last value (stale) when the service is gone or has nothing; else SECRET_UNAVAILABLE', async () => {
    let now = 5_000_000;
    const client = createSecretsClient(nc, { logger, cacheTtlMs: 1_000, timeoutMs: 300, now: () => now });
    await client.get('plain');
    mode = 'unavailable';
    now += 2_000;
    expect(await client.get('plain')).toMatchObject({ value: SECRETS.plain, stale: true, ageSeconds: 5 });
    const unavailable = await client.get('db').catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(TransientError);
    expect((unavailable as TransientError).message).toMatch(/answered 503.*provider down/);

    await service?.stop();
    now += 60_000;
    expect(await client.get('plain')).toMatchObject({ value: SECRETS.plain, stale: true, ageSeconds: 65 });
    const err = await client.get('db').catch((e: unknown) => e);
    expect((err as TransientError).code).toBe(ErrorCode.SECRET_UNAVAILABLE);
    expect((err as Error).message).toMatch(/unreachable/);
    expect(lines.some((l) => l.includes('using this process') && l.includes('"secretName":"plain"'))).toBe(true);
  });

  it("after a failed ask serves its copy for a few seconds without asking again; never past the service's max stale age", async () => {
    let now = 7_000_000;
    const client = createSecretsClient(nc, { logger, cacheTtlMs: 1_000, timeoutMs: 300, now: () => now });
    await client.get('plain');
    mode = 'unavailable';
    now += 2_000;
    await client.get('plain');
    const asked = calls;
    now += 1_000;
    expect(await client.get('plain')).toMatchObject({ value: SECRETS.plain, stale: true });
    expect(calls).toBe(asked); // quiet: no new request (and no 300 ms wait) per call
    // the service refuses a value older than SECRETS_MAX_STALE: this process's copy is as old, so it is not served
    mode = 'too-old';
    now += 10_000;
    const err = await client.get('plain').catch((e: unknown) => e);
    expect((err as TransientError).code).toBe(ErrorCode.SECRET_UNAVAILABLE);
    expect((err as Error).message).toContain(MAX_STALE_REFUSAL);
  });

  it('resolveTemplate fills ${secret:NAME}, JSON fields, nested paths and dotted names', async () => {
    const client = createSecretsClient(nc, { logger });
    const tpl = ['a=${secret:plain}', 'u=${secret:db.user}', 't=${secret:db.nested.token}', 'd=${secret:dotted.name}'];
    expect(await client.resolveTemplate(tpl.join(' '))).toBe(
      `a=${SECRETS.plain} u=app t=Tok-77de-nested d=Dotted-12fe-value`,
    );
    expect(await client.resolveTemplate('no templates')).toBe('no templates');
    await expect(client.resolveTemplate('${secret:db.missing}')).rejects.toMatchObject({
      code: ErrorCode.SECRET_NOT_FOUND,
      message: 'secret "db" has no field "missing"',
    });
  });
});
