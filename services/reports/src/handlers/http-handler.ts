import {
  type Breaker,
  type BreakerOptions,
  createBreaker,
  deadlineSignal,
  ErrorCode,
  httpStatusError,
  requestFailure,
  parseRetryAfter,
  TransientError,
  type Logger,
  ValidationError,
} from '@vigil/shared';
import { z } from 'zod';
import { defineHandler } from '../handler-api.js';

const optionsSchema = z.object({
  url: z.url(),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.unknown().optional(),
  timeout: z.number().int().min(1).default(30_000),
  expectStatus: z.array(z.number().int()).optional(),
});

interface Call {
  url: string;
  init: RequestInit;
  expect?: number[];
}

/** A URL as errors may show it: origin and path, without userinfo, query or fragment (`?api_key=…`). */
function shownUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** Response bytes read at most (to report `bytes`); the rest of a longer body is discarded unread. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Characters of the body a failure message quotes. */
const EXCERPT_CHARS = 200;
/** A longer Retry-After is not honoured as it is: the retry waits this long instead. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

interface Sent {
  status: number;
  bytes: number;
  /** The body was longer than MAX_BODY_BYTES (not read further). */
  truncated: boolean;
}

/** Reads at most MAX_BODY_BYTES of the body: the byte count and the start of the text. */
async function readBounded(res: Response): Promise<{ bytes: number; truncated: boolean; excerpt: string }> {
  if (!res.body) return { bytes: 0, truncated: false, excerpt: '' };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let bytes = 0;
  let excerpt = '';
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (excerpt.length < EXCERPT_CHARS)
      excerpt += decoder.decode(value.subarray(0, EXCERPT_CHARS * 4), { stream: true });
    if (bytes >= MAX_BODY_BYTES) {
      truncated = bytes > MAX_BODY_BYTES || !(await reader.read()).done;
      bytes = Math.min(bytes, MAX_BODY_BYTES);
      break;
    }
  }
  if (truncated) await reader.cancel().catch(() => undefined);
  return { bytes, truncated, excerpt: excerpt.slice(0, EXCERPT_CHARS) };
}

/**
 * fetch's own failure is `TypeError: fetch failed` with the reason in `cause`: an alert saying only that helps
 * nobody. The method, the URL (as shown) and the network reason (ECONNREFUSED, DNS, TLS…) go in the message. A
 * cancelled run keeps its own reason (the run's abort), a timeout says so.
 */
function requestFailed(call: Call, err: unknown): unknown {
  const signal = call.init.signal ?? undefined;
  const method = call.init.method ?? 'GET';
  return requestFailure(err, signal, {
    timedOut: () =>
      new TransientError(`${method} ${shownUrl(call.url)} timed out`, { code: ErrorCode.TIMEOUT, cause: err }),
    failed: (reason) => new TransientError(`${method} ${shownUrl(call.url)} failed: ${reason}`, { cause: err }),
  });
}

async function send(call: Call): Promise<Sent> {
  let res: Response;
  try {
    res = await fetch(call.url, call.init);
  } catch (err) {
    throw requestFailed(call, err);
  }
  // The deadline bounds the body too: a body that stalls after the headers times out like a request that hangs.
  let body: Awaited<ReturnType<typeof readBounded>>;
  try {
    body = await readBounded(res);
  } catch (err) {
    throw requestFailed(call, err);
  }
  const ok = call.expect ? call.expect.includes(res.status) : res.status >= 200 && res.status < 300;
  if (!ok) {
    const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
    throw httpStatusError(
      res.status,
      `HTTP ${res.status} from ${shownUrl(call.url)}: ${body.excerpt}`,
      retryAfter === undefined ? undefined : Math.min(retryAfter, MAX_RETRY_AFTER_MS),
    );
  }
  return { status: res.status, bytes: body.bytes, truncated: body.truncated };
}

/** `http`: one request per run through a breaker per origin; 2xx (or `expectStatus`) is success. */
export function httpHandler(rt: Pick<BreakerOptions, 'bus' | 'registry'> & { log: Logger }) {
  const breakers = new Map<string, Breaker<[Call], Sent>>();
  const breakerFor = (origin: string) => {
    let b = breakers.get(origin);
    if (!b) {
      b = createBreaker(`http-${origin.replace(/^https?:\/\//, '')}`, send, {
        service: 'reports',
        bus: rt.bus,
        registry: rt.registry,
        logger: rt.log,
      });
      breakers.set(origin, b);
    }
    return b;
  };
  const parse = (options: unknown) => {
    const r = optionsSchema.safeParse(options);
    if (!r.success) {
      throw new ValidationError(r.error.issues.map((i) => `http.${i.path.join('.')}: ${i.message}`).join('; '), {
        code: ErrorCode.VALIDATION,
      });
    }
    return r.data;
  };
  return defineHandler({
    validate: (ctx) => {
      parse(ctx.options);
    },
    async run(ctx) {
      const o = parse(ctx.options);
      const headers: Record<string, string> = { ...o.headers };
      let body: string | undefined;
      if (o.body !== undefined && o.method !== 'GET' && o.method !== 'HEAD') {
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
        if (typeof o.body !== 'string' && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
          headers['content-type'] = 'application/json';
        }
      }
      headers['x-vigil-run-id'] = ctx.runId;
      const started = ctx.clock.now();
      // Not AbortSignal.any + AbortSignal.timeout: after a garbage collection that timeout may never fire (see
      // deadlineSignal). Cleared once send() has read the body too, so the timeout bounds the whole exchange.
      const deadline = deadlineSignal(o.timeout, ctx.signal);
      let r: Sent;
      try {
        r = await breakerFor(new URL(o.url).origin).fire({
          url: o.url,
          init: { method: o.method, headers, body, signal: deadline.signal },
          expect: o.expectStatus,
        });
      } finally {
        deadline.clear();
      }
      const details: Record<string, unknown> = {
        status: r.status,
        bytes: r.bytes,
        durationMs: ctx.clock.now() - started,
      };
      if (r.truncated) details.truncated = true;
      return { details };
    },
  });
}
