import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { deadlineSignal, ErrorCode, parseRetryAfter } from '@vigil/shared';
import { Agent, type Dispatcher } from 'undici';
import type { AttemptOutcome } from './retry-policy.js';
import { checkHost, type ResolvedAddress, type SsrfPolicy } from './ssrf-guard.js';

export interface SenderOptions {
  ssrf: SsrfPolicy;
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  connectionsPerOrigin: number;
  userAgent: string;
}

export interface SendResult {
  outcome: AttemptOutcome;
  durationMs: number;
  /** A short excerpt of an error response body, for lastError. */
  excerpt?: string;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

const resolveAll = (host: string): Promise<ResolvedAddress[]> => dns.promises.lookup(host, { all: true });

/**
 * A `lookup` for net.connect that refuses internal addresses at connect time: the address checked is the
 * address connected to, so DNS rebinding between intake and delivery gains nothing.
 */
export function guardedLookup(policy: SsrfPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    checkHost(hostname, policy, resolveAll).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
        if (usable.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`no usable address for ${hostname}`);
          err.code = 'ENOTFOUND';
          callback(err, '', 0);
        } else if (options.all) callback(null, usable);
        else callback(null, usable[0].address, usable[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

function refusedBy(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; message?: string; cause?: unknown } | undefined, i = 0; e && i < 4; i++) {
    if (e.code === ErrorCode.WEBHOOK_URL_REFUSED) return e.message;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** At most this much of a response body is read: a hostile receiver may stream gigabytes. */
const EXCERPT_READ_BYTES = 1024;

/**
 * The first ≤ 200 characters of an error body, reading at most EXCERPT_READ_BYTES and then dropping the
 * connection. A body that fails to read gives no excerpt: the status code (and its Retry-After) still stand.
 */
async function readExcerpt(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(buf);
      size += buf.length;
      if (size >= EXCERPT_READ_BYTES) break;
    }
  } catch {
    return undefined;
  } finally {
    if (!body.readableEnded) body.destroy();
  }
  const text = Buffer.concat(chunks).subarray(0, EXCERPT_READ_BYTES).toString('utf8');
  return text.slice(0, 200);
}

/** Posts signed webhooks with one keep-alive pool per origin (undici Agent), never following redirects. */
export class HttpSender {
  readonly agent: Agent;

  constructor(private readonly opts: SenderOptions) {
    this.agent = new Agent({
      connections: opts.connectionsPerOrigin,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      connect: { timeout: opts.connectTimeoutMs, lookup: guardedLookup(opts.ssrf) },
    });
  }

  async send(url: URL, body: string, headers: Record<string, string>): Promise<SendResult> {
    const started = performance.now();
    // net.connect skips `lookup` for IP literals, so those are judged here, before anything is sent.
    if (isIP(url.hostname.replace(/^\[|\]$/g, ''))) {
      try {
        await checkHost(url.hostname, this.opts.ssrf, resolveAll);
      } catch (err) {
        return { outcome: { kind: 'refused', message: (err as Error).message }, durationMs: 0 };
      }
    }
    // Not AbortSignal.timeout: after a garbage collection it may never fire (see deadlineSignal), and a receiver
    // that hangs would hold its delivery forever. Cleared in finally, after the body is read or dropped.
    const deadline = deadlineSignal(this.opts.totalTimeoutMs);
    const { signal } = deadline;
    try {
      const res = await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': this.opts.userAgent,
          ...basicAuth(url),
          ...headers,
        },
        body,
        signal,
      });
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const retryAfter = res.headers['retry-after'];
      const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
      let excerpt: string | undefined;
      // A 2xx status is the answer even if its body then fails to arrive.
      if (ok) await res.body.dump().catch(() => undefined);
      else excerpt = await readExcerpt(res.body);
      return {
        outcome: { kind: 'response', status: res.statusCode, retryAfterMs },
        durationMs: performance.now() - started,
        excerpt,
      };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const refusal = refusedBy(err);
      if (refusal) return { outcome: { kind: 'refused', message: refusal }, durationMs: performance.now() - started };
      const timedOut = signal.aborted;
      return {
        outcome: {
          kind: 'network',
          code: timedOut ? 'TIMEOUT' : (e.code ?? e.name),
          message: timedOut ? `no complete response within ${this.opts.totalTimeoutMs} ms` : e.message,
        },
        durationMs: performance.now() - started,
      };
    } finally {
      deadline.clear();
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * `https://user:pw@host/…`: the credentials go as HTTP Basic authentication, as curl and browsers send them (the
 * request itself is made from the origin and path, which carry none). Status, events and logs never show them.
 */
function basicAuth(url: URL): Record<string, string> {
  if (!url.username && !url.password) return {};
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}
