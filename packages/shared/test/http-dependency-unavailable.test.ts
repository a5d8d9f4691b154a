import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classify,
  createHttpApp,
  createLogger,
  createRegistry,
  type ErrorBody,
  redisUnavailableReason,
} from '../src/index.js';

/** A port nothing listens on (taken, then freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The rejection of one command, from a real ioredis client. */
async function rejectionOf(redis: Redis): Promise<Error> {
  try {
    await redis.get('k');
  } catch (err) {
    return err as Error;
  } finally {
    redis.disconnect();
  }
  throw new Error('the command did not fail');
}

// Real ioredis errors, not look-alikes: what a service's StatusStore throws when Redis is down.
const redisErrors: Record<string, Error> = {};
const logLines: string[] = [];
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const port = await closedPort();
  const quiet = (r: Redis) => {
    r.on('error', () => {});
    return r;
  };
  // The live case: the command waited through its reconnection attempts (webhooks: maxRetriesPerRequest 2).
  redisErrors.maxRetries = await rejectionOf(
    quiet(new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 10 })),
  );
  // Reconnection given up (or the client quit): every command is refused with "Connection is closed.".
  const closed = quiet(new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null }));
  await closed.connect().catch(() => {});
  redisErrors.closed = await rejectionOf(closed);
  // No offline queue and no connection.
  redisErrors.offline = await rejectionOf(
    quiet(new Redis({ port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false })),
  );

  app = createHttpApp({
    service: 'test',
    version: '0.0.0',
    logger: createLogger({
      service: 'test',
      destination: new Writable({
        write(chunk, _enc, cb) {
          logLines.push(String(chunk));
          cb();
        },
      }),
    }),
    registry: createRegistry(),
  });
  app.get<{ Params: { kind: string } }>('/redis/:kind', async (request) => {
    throw redisErrors[request.params.kind];
  });
  app.get('/reset', async () => {
    throw Object.assign(new Error('read ECONNRESET 10.0.0.7:6379'), { code: 'ECONNRESET' });
  });
  app.get('/wrapped', async () => {
    throw new Error('status write failed', { cause: redisErrors.maxRetries });
  });
  app.get('/bug', async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'id')");
  });
  app.get('/status-500', async () => {
    throw Object.assign(new Error('reply serialization failed'), { statusCode: 500, code: 'FST_ERR_SOMETHING' });
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
});

describe('Redis unavailable is transient', () => {
  it('classifies the real ioredis errors of a Redis outage as transient, with a reason naming no address', () => {
    expect(redisErrors.maxRetries.name).toBe('MaxRetriesPerRequestError');
    expect(redisErrors.closed.message).toBe('Connection is closed.');
    expect(redisErrors.offline.message).toMatch(/enableOfflineQueue/);
    for (const err of Object.values(redisErrors)) {
      expect(classify(err)).toBe('transient');
      expect(redisUnavailableReason(err)).toMatch(/^[a-z]/);
    }
    const loading = Object.assign(new Error('LOADING Redis is loading the dataset in memory'), { name: 'ReplyError' });
    expect(classify(loading)).toBe('transient');
    expect(redisUnavailableReason(loading)).toBe('LOADING');
    // Redis answering "no" is not an outage.
    const wrongType = Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), {
      name: 'ReplyError',
    });
    expect(redisUnavailableReason(wrongType)).toBeUndefined();
    expect(classify(wrongType)).toBe('unexpected');
    expect(classify(new Error('Connection is closed'))).toBe('unexpected'); // exact ioredis text only
  });

  it('answers 503 VIGIL_E_TRANSIENT "Redis unavailable: …; retry" with Retry-After, never 500', async () => {
    for (const kind of Object.keys(redisErrors)) {
      const res = await fetch(`${base}/redis/${kind}`);
      expect(res.status, kind).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      const { error } = (await res.json()) as ErrorBody;
      expect(error.code).toBe('VIGIL_E_TRANSIENT');
      expect(error.message).toMatch(/^Redis unavailable: .+; retry$/);
      expect(error.message).not.toMatch(/127\.0\.0\.1|maxRetriesPerRequest/);
    }
    const wrapped = await fetch(`${base}/wrapped`);
    expect(wrapped.status).toBe(503);
    expect(((await wrapped.json()) as ErrorBody).error.message).toMatch(/^Redis unavailable: no connection/);
    expect(logLines.some((l) => l.includes('MaxRetriesPerRequestError'))).toBe(true);
  });

  it('a socket error of any dependency is 503 too, without its address; a bug stays 500 VIGIL_E_UNEXPECTED', async () => {
    const reset = await fetch(`${base}/reset`);
    expect(reset.status).toBe(503);
    expect(await reset.json()).toEqual({
      error: { code: 'VIGIL_E_TRANSIENT', message: 'dependency unavailable (ECONNRESET); retry' },
    });
    for (const path of ['/bug', '/status-500']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(500);
      expect(await res.json()).toEqual({ error: { code: 'VIGIL_E_UNEXPECTED', message: 'internal error' } });
    }
  });
});
