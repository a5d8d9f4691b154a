import { getEventListeners, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  deadlineSignal,
  deadlineSignalOn,
  ErrorCode,
  isDeadlineAbort,
  requestFailure,
  ManualClock,
  requestFailureReason,
  ValidationError,
} from '@vigil/shared';
import { freePort } from '@vigil/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';

const abortListeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;

describe('deadlineSignal', () => {
  it('aborts at the deadline, not before, with a TimeoutError as AbortSignal.timeout does', async () => {
    const clock = new ManualClock(0);
    const run = new AbortController();
    const d = deadlineSignalOn(clock, 1000, run.signal);
    await clock.advance(999);
    expect(d.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBeInstanceOf(DOMException);
    expect((d.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(isDeadlineAbort(d.signal)).toBe(true);
    // Firing unhooks the parent at once: a long-lived run signal keeps no listener per request.
    expect(abortListeners(run.signal)).toBe(0);
  });

  it('follows any parent: aborts with its reason, stops its timer and unhooks the other parents', () => {
    const clock = new ManualClock(0);
    const run = new AbortController();
    const shutdown = new AbortController();
    const d = deadlineSignalOn(clock, 1000, run.signal, undefined, shutdown.signal);
    expect(abortListeners(run.signal)).toBe(1);
    expect(clock.pending()).toBe(1);
    const cancelled = new Error('run cancelled');
    run.abort(cancelled);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe(cancelled);
    expect(isDeadlineAbort(d.signal)).toBe(false);
    expect(clock.pending()).toBe(0);
    expect(abortListeners(shutdown.signal)).toBe(0);
  });

  it('a parent already aborted aborts it at once, arming no timer and no listener', () => {
    const clock = new ManualClock(0);
    const run = new AbortController();
    run.abort(new Error('gone'));
    const d = deadlineSignalOn(clock, 1000, run.signal);
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as Error).message).toBe('gone');
    expect(clock.pending()).toBe(0);
    expect(abortListeners(run.signal)).toBe(0);
  });

  it('clear() removes the timer and the parent listeners; nothing aborts it afterwards', async () => {
    const clock = new ManualClock(0);
    const run = new AbortController();
    const d = deadlineSignalOn(clock, 1000, run.signal);
    d.clear();
    d.clear();
    expect(clock.pending()).toBe(0);
    expect(abortListeners(run.signal)).toBe(0);
    run.abort();
    await clock.advance(5000);
    expect(d.signal.aborted).toBe(false);
  });

  it('on the system clock: the abort event fires at the deadline', async () => {
    const started = performance.now();
    const d = deadlineSignal(30);
    await once(d.signal, 'abort');
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(isDeadlineAbort(d.signal)).toBe(true);
  });

  it('a deadline beyond setTimeout’s range waits (a plain setTimeout would fire after 1 ms)', async () => {
    const clock = new ManualClock(0);
    const d = deadlineSignalOn(clock, 30 * 24 * 3600_000);
    await clock.advance(24 * 3600_000);
    expect(d.signal.aborted).toBe(false);
    d.clear();
  });

  it('refuses a deadline that is not a number of milliseconds >= 0', () => {
    for (const bad of [-1, Number.NaN]) {
      expect(() => deadlineSignal(bad)).toThrow(ValidationError);
      expect(() => deadlineSignal(bad)).toThrow(expect.objectContaining({ code: ErrorCode.VALIDATION }));
    }
  });
});

describe('requestFailureReason', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('names a refused connection instead of "fetch failed"', async () => {
    const port = await freePort();
    const err = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect((err as Error).message).toBe('fetch failed');
    expect(requestFailureReason(err)).toMatch(/ECONNREFUSED/);
  });

  it('names a server that closes the connection without answering', async () => {
    server = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const err = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(requestFailureReason(err)).toMatch(/other side closed/);
  });

  it('keeps the message of an error with no cause', () => {
    expect(requestFailureReason(new Error('boom'))).toBe('boom');
    expect(requestFailureReason('text')).toBe('text');
  });

  it('requestFailure: a parent abort stays as it is, the deadline says timed out, anything else its network reason', async () => {
    const say = { timedOut: () => 'timed out', failed: (reason: string) => `failed: ${reason}` };
    const run = new AbortController();
    const cancelled = deadlineSignal(60_000, run.signal);
    run.abort(new Error('run cancelled'));
    const parentErr = new Error('aborted');
    expect(requestFailure(parentErr, cancelled.signal, say)).toBe(parentErr);
    const late = deadlineSignal(1);
    await once(late.signal, 'abort');
    expect(requestFailure(new Error('aborted'), late.signal, say)).toBe('timed out');
    const port = await freePort();
    const refused = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(requestFailure(refused, undefined, say)).toMatch(/^failed: .*ECONNREFUSED/);
  });
});
