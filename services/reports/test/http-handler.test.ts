import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@vigil/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandlerContext } from '../src/handler-api.js';
import { httpHandler, MAX_BODY_BYTES, MAX_RETRY_AFTER_MS } from '../src/handlers/http-handler.js';
import { handlerContext } from './helpers.js';

const log = createLogger({ service: 'test', level: 'silent' });

function context(options: Record<string, unknown>): HandlerContext {
  return handlerContext({ runId: 'h-1', correlationId: 'h-1', job: 'http', options, log });
}

describe('http handler', () => {
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/endless') {
        // A body that never ends: only a bounded read can report on it.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(16 * 1024, 120);
        const more = () => {
          while (res.write(chunk)) if (res.destroyed) return;
          res.once('drain', more);
        };
        res.on('close', () => res.removeAllListeners('drain'));
        more();
      } else if (req.url === '/hang') {
        // never answers: only the request's timeout ends it
      } else if (req.url === '/utf8') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('ü'.repeat(10));
      } else if (req.url === '/big-error') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${'e'.repeat(250)}${'z'.repeat(200_000)}`);
      } else if (req.url === '/slow-down') {
        res.writeHead(429, { 'retry-after': '86400' });
        res.end('come back tomorrow');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads at most a bounded part of the body and reports the bytes read, not the whole body', async () => {
    const r = await httpHandler({ log }).run(context({ url: `${url}/endless`, timeout: 10_000 }));
    expect(r?.details).toMatchObject({ status: 200, bytes: MAX_BODY_BYTES, truncated: true });
  });

  it('reports bytes, not characters', async () => {
    const r = await httpHandler({ log }).run(context({ url: `${url}/utf8` }));
    expect(r?.details).toMatchObject({ status: 200, bytes: 20 });
    expect(r?.details?.truncated).toBeUndefined();
  });

  it('a failure quotes a 200-character excerpt of the body', async () => {
    const err = await httpHandler({ log })
      .run(context({ url: `${url}/big-error` }))
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(`HTTP 500 from ${url}/big-error: ${'e'.repeat(200)}`);
  });

  it('honours a Retry-After of a day only up to 5 minutes', async () => {
    const err = await httpHandler({ log })
      .run(context({ url: `${url}/slow-down` }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ errorClass: 'transient', retryAfterMs: MAX_RETRY_AFTER_MS });
    expect(MAX_RETRY_AFTER_MS).toBe(300_000);
  });

  it('a refused connection names the request and the network reason, not "TypeError: fetch failed"', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await httpHandler({ log })
      .run(context({ url: `http://127.0.0.1:${port}/report?token=hidden`, method: 'POST' }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ errorClass: 'transient', name: 'TransientError' });
    expect((err as Error).message).toBe(
      `POST http://127.0.0.1:${port}/report failed: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it('a timeout says so, with the request', async () => {
    const err = await httpHandler({ log })
      .run(context({ url: `${url}/hang`, timeout: 50 }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ errorClass: 'transient', code: 'VIGIL_E_TIMEOUT' });
    expect((err as Error).message).toBe(`GET ${url}/hang timed out`);
  });
});
