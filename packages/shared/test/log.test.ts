import { Writable } from 'node:stream';
import { type Context, type ContextManager, context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  PermanentError,
  registerSecretValue,
  TransientError,
  toErrorInfo,
  unregisterSecretValue,
} from '@vigil/shared';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, destination, parsed: () => lines.map((l) => JSON.parse(l)) };
}

const SECRET = 'sk_live_9f8e7d6c5b4a"quoted\\';

afterEach(() => unregisterSecretValue(SECRET));

describe('logger', () => {
  it('writes JSON with service, version, level label and message', () => {
    const out = capture();
    const log = createLogger({ service: 'scheduler', version: '1.2.3', destination: out.destination });
    log.child({ runId: 'r1', correlationId: 'c1' }).info({ job: 'daily' }, 'job requested');
    const [line] = out.parsed();
    expect(line).toMatchObject({
      service: 'scheduler',
      version: '1.2.3',
      level: 'info',
      msg: 'job requested',
      runId: 'r1',
      correlationId: 'c1',
      job: 'daily',
    });
    expect(typeof line.time).toBe('string');
  });

  it('redacts secret-looking keys at any depth, keeps names readable', () => {
    const out = capture();
    const log = createLogger({ service: 's', destination: out.destination });
    log.info(
      {
        password: 'p1',
        request: { headers: { authorization: 'Bearer abc', 'x-api-key': 'k', cookie: 'c=1', accept: 'json' } },
        aws: [{ accessKeyId: 'AKIA1', secretAccessKey: 'wJal', sessionToken: 'FwoG', region: 'eu-west-1' }],
        env: { SECRETS_CACHE_KEY: 'base64key', VIGIL_API_TOKEN: 'tok', WEBHOOKS_SIGNING_SECRET: 'whsec_1' },
        secret: { name: 'db', value: 'hunter2', version: 'v3' },
        secretName: 'db',
        tokenCount: 3,
      },
      'calling out',
    );
    const raw = out.lines[0];
    for (const leaked of ['p1', 'Bearer abc', 'AKIA1', 'wJal', 'FwoG', 'base64key', 'whsec_1', 'hunter2', '"tok"']) {
      expect(raw).not.toContain(leaked);
    }
    const line = out.parsed()[0];
    expect(line.request.headers.accept).toBe('json');
    expect(line.aws[0].region).toBe('eu-west-1');
    expect(line.secret).toEqual({ name: 'db', value: '[REDACTED]', version: 'v3' });
    expect(line.secretName).toBe('db');
    expect(line.tokenCount).toBe(3);
  });

  it('never lets a registered secret value reach a line: messages, fields, error messages and stacks', () => {
    const out = capture();
    const log = createLogger({ service: 's', destination: out.destination }).child({ note: `ctx ${SECRET}` });
    registerSecretValue(SECRET);
    const err = new TransientError(`upstream rejected key ${SECRET}`, { cause: new Error(`inner ${SECRET}`) });
    log.error({ err, url: `https://api.example/x?key=${encodeURIComponent(SECRET)}` }, `failed with ${SECRET}`);
    log.info({ nested: { deep: { harmless: SECRET } } }, 'ok');
    expect(out.lines).toHaveLength(2);
    for (const raw of out.lines) {
      expect(raw).not.toContain('sk_live_9f8e7d6c5b4a');
      expect(raw).toContain('[REDACTED]');
    }
    const line = out.parsed()[0];
    expect(line.err.type).toBe('TransientError');
    expect(line.err.message).toMatch(/^upstream rejected key \[REDACTED\]/);
    expect(line.err.stack).toContain('TransientError');
  });

  it('hides passwords in connection URLs', () => {
    const out = capture();
    createLogger({ service: 's', destination: out.destination }).info({ url: 'nats://vigil:s3cret@nats:4222' }, 'x');
    expect(out.lines[0]).not.toContain('s3cret');
    expect(out.parsed()[0].url).toBe('nats://vigil:[REDACTED]@nats:4222');
    createLogger({ service: 's', destination: out.destination }).info({ url: 'redis://:r3dis-pw@redis:6379' }, 'y');
    expect(out.parsed()[1].url).toBe('redis://:[REDACTED]@redis:6379');
  });

  it('adds traceId and spanId from the active span', () => {
    // A minimal synchronous context manager, so the active span is visible without the tracing SDK.
    let current: Context = ROOT_CONTEXT;
    const manager: ContextManager = {
      active: () => current,
      with: (ctx, fn, thisArg, ...args) => {
        const prev = current;
        current = ctx;
        try {
          return fn.call(thisArg, ...args);
        } finally {
          current = prev;
        }
      },
      bind: (_ctx, target) => target,
      enable() {
        return this;
      },
      disable() {
        return this;
      },
    };
    context.setGlobalContextManager(manager);
    try {
      const out = capture();
      const log = createLogger({ service: 's', destination: out.destination });
      const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
      context.with(trace.setSpan(context.active(), trace.wrapSpanContext(spanContext)), () => log.info('inside'));
      log.info('outside');
      const [inside, outside] = out.parsed();
      expect(inside).toMatchObject({ traceId: spanContext.traceId, spanId: spanContext.spanId });
      expect(outside.traceId).toBeUndefined();
    } finally {
      context.disable();
    }
  });

  it('respects the level', () => {
    const out = capture();
    const log = createLogger({ service: 's', level: 'warn', destination: out.destination });
    log.info('quiet');
    log.warn('loud');
    expect(out.parsed().map((l) => l.msg)).toEqual(['loud']);
  });
});

describe('logging errors of every kind', () => {
  it("a DOMException (fetch's timeout) logs like any error instead of throwing inside the logger", async () => {
    const out = capture();
    const log = createLogger({ service: 's', destination: out.destination });
    const signal = AbortSignal.timeout(1);
    await new Promise((r) => signal.addEventListener('abort', r));
    const timeout = signal.reason as DOMException;
    expect(timeout.name).toBe('TimeoutError');
    const err = new TransientError('GET http://api/x timed out', { cause: timeout });
    expect(() => log.warn({ err: timeout, attempt: 1 }, 'call failed; retrying')).not.toThrow();
    expect(() => log.warn({ err }, 'wrapped')).not.toThrow();
    const [direct, wrapped] = out.parsed();
    expect(direct.err).toMatchObject({ name: 'TimeoutError', message: timeout.message });
    expect(direct.err.stack).toContain('TimeoutError');
    expect(wrapped.err).toMatchObject({ type: 'TransientError', message: expect.stringContaining('timed out') });
  });

  it('an error class with a getter (no setter) for one of its fields is logged with that field', () => {
    class CodedError extends Error {
      get code() {
        return 'E_CODED';
      }
    }
    const out = capture();
    const log = createLogger({ service: 's', destination: out.destination });
    expect(() => log.error({ err: Object.assign(new CodedError('boom'), { detail: 'x' }) }, 'failed')).not.toThrow();
    expect(out.parsed()[0].err).toMatchObject({ type: 'CodedError', message: 'boom', code: 'E_CODED', detail: 'x' });
  });
});

describe('toErrorInfo (the error object of events, run records, e-mails)', () => {
  it('carries no registered secret value in message or stack, and no URL password', () => {
    registerSecretValue(SECRET);
    const err = new PermanentError(`upstream rejected key ${SECRET} at postgres://app:pg-pass-77@db:5432/app`);
    expect(err.stack).toContain(SECRET); // the raw error does carry it
    const info = toErrorInfo(err);
    expect(info).toMatchObject({ type: 'PermanentError', class: 'permanent' });
    expect(info.message).toBe('upstream rejected key [REDACTED] at postgres://app:[REDACTED]@db:5432/app');
    expect(info.stack).toContain('upstream rejected key [REDACTED]');
    for (const text of [info.message, info.stack ?? '', JSON.stringify(info)]) {
      expect(text).not.toContain('sk_live_9f8e7d6c5b4a');
      expect(text).not.toContain('pg-pass-77');
    }
    expect(toErrorInfo(`thrown string ${SECRET}`).message).toBe('thrown string [REDACTED]');
  });
});
