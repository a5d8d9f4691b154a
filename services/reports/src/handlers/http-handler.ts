import {
  type Breaker,
  createBreaker,
  ErrorCode,
  httpStatusError,
  parseRetryAfter,
  type Runtime,
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

async function send(call: Call): Promise<{ status: number; bytes: number }> {
  const res = await fetch(call.url, call.init);
  const text = await res.text();
  const ok = call.expect ? call.expect.includes(res.status) : res.status >= 200 && res.status < 300;
  if (!ok) {
    throw httpStatusError(
      res.status,
      `HTTP ${res.status} from ${shownUrl(call.url)}: ${text.slice(0, 200)}`,
      parseRetryAfter(res.headers.get('retry-after')),
    );
  }
  return { status: res.status, bytes: text.length };
}

/** `http`: one request per run through a breaker per origin; 2xx (or `expectStatus`) is success. */
export function httpHandler(rt: Pick<Runtime<unknown>, 'bus' | 'registry' | 'log'>) {
  const breakers = new Map<string, Breaker<[Call], { status: number; bytes: number }>>();
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
      const r = await breakerFor(new URL(o.url).origin).fire({
        url: o.url,
        init: {
          method: o.method,
          headers,
          body,
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(o.timeout)]),
        },
        expect: o.expectStatus,
      });
      return { details: { status: r.status, bytes: r.bytes, durationMs: ctx.clock.now() - started } };
    },
  });
}
