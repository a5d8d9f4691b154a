import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { classify, createLogger, ErrorCode, PermanentError, systemClock, TransientError } from '@vigil/shared';
import { freePort, startFakeLlm } from '@vigil/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelChain } from '../src/llm/model-chain.js';

const log = createLogger({ service: 'test', level: 'silent' });
const messages = [{ role: 'user' as const, content: 'acme' }];
const options = (endpoint: string, over: Record<string, unknown> = {}) => ({
  endpoint,
  models: ['p2', 'fallback'],
  retries: 2,
  baseDelayMs: 1,
  maxDelayMs: 1,
  maxRetryAfterMs: 1_000,
  timeoutMs: 2_000,
  ...over,
});
const never = new AbortController().signal;

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A local server whose every request is handled by `onRequest` (closing the socket, never answering…). */
async function listen(onRequest: RequestListener): Promise<string> {
  server = createServer(onRequest);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

describe('model chain: how a failure is classed', () => {
  it('every model refusing for good (400) is a permanent failure, asked once each', async () => {
    const llm = await startFakeLlm({ '*': { status: 400 } });
    try {
      const chain = new ModelChain({ log, clock: systemClock });
      const err = await chain.complete(options(llm.url), messages, never, log).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect(err).toMatchObject({ code: ErrorCode.MODEL_UNAVAILABLE });
      expect(classify(err)).toBe('permanent');
      expect((err as Error).message).toMatch(/every model failed \(p2 -> fallback\): p2: .*HTTP 400/);
      expect(llm.requests.map((r) => r.model)).toEqual(['p2', 'fallback']);
    } finally {
      await llm.close();
    }
  });

  it('one model failing in a way that may pass (503) keeps the whole failure transient', async () => {
    const llm = await startFakeLlm({ p2: { status: 400 }, fallback: { status: 503 } });
    try {
      const chain = new ModelChain({ log, clock: systemClock });
      const err = await chain.complete(options(llm.url), messages, never, log).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(err).toMatchObject({ code: ErrorCode.MODEL_UNAVAILABLE });
      expect(classify(err)).toBe('transient');
    } finally {
      await llm.close();
    }
  });
});

describe('model chain: network failures name their reason', () => {
  it('a server that closes the connection: "other side closed", not "fetch failed"', async () => {
    const url = await listen((req) => req.socket.destroy());
    const chain = new ModelChain({ log, clock: systemClock });
    const err = await chain.complete(options(url, { retries: 0 }), messages, never, log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    const message = (err as Error).message;
    expect(message).toMatch(/p2: model p2: .*other side closed; fallback: model fallback: .*other side closed/);
    expect(message).not.toMatch(/fetch failed/);
  });

  it('a refused port: ECONNREFUSED', async () => {
    const url = `http://127.0.0.1:${await freePort()}/v1`;
    const chain = new ModelChain({ log, clock: systemClock });
    const err = await chain.complete(options(url, { retries: 0 }), messages, never, log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/p2: model p2: .*ECONNREFUSED.*; fallback: model fallback: .*ECONNREFUSED/);
  });

  it('a model that never answers times out per timeoutMs and says so', async () => {
    const url = await listen(() => undefined);
    const chain = new ModelChain({ log, clock: systemClock });
    const started = performance.now();
    const err = await chain
      .complete(options(url, { models: ['slow'], retries: 0, timeoutMs: 300 }), messages, never, log)
      .catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((err as Error).message).toMatch(/slow: model slow: no answer within 300 ms/);
    expect((err as { cause?: { code?: string } }).cause?.code).toBe(ErrorCode.TIMEOUT);
    expect(classify(err)).toBe('transient');
  });

  it('a cancelled run ends the call with the run’s own reason, not as a timeout', async () => {
    let answered: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const url = await listen(() => answered());
    const run = new AbortController();
    const chain = new ModelChain({ log, clock: systemClock });
    const pending = chain.complete(options(url, { retries: 0 }), messages, run.signal, log).catch((e: unknown) => e);
    await arrived;
    const cancelled = new Error('run cancelled');
    run.abort(cancelled);
    expect(await pending).toBe(cancelled);
  });
});
