import dns from 'node:dns';
import {
  type createHttpApp,
  ErrorCode,
  getDlqEntry,
  hasBearer,
  type Logger,
  listDlq,
  newEventId as ulid,
  classify,
  removeDlqEntry,
  replayDlq,
  requireBearer,
  sendError,
  TransientError,
  ValidationError,
} from '@vigil/shared';
import type { JetStreamClient, JetStreamManager } from 'nats';
import { checkHost, type SsrfPolicy } from './ssrf-guard.js';
import type { StatusStore } from './status-store.js';
import { parseWebhookUrl, toWebhookRequest } from './webhook-request.js';
import { safeUrl } from './worker-io.js';

type HttpApp = ReturnType<typeof createHttpApp>;

export interface RouteDeps {
  store: StatusStore;
  ssrf: SsrfPolicy;
  apiToken: string | undefined;
  publishSend: (data: Record<string, unknown>, msgId: string) => Promise<unknown>;
  js: JetStreamClient;
  jsm: JetStreamManager;
  now: () => number;
  /** False when no signing key can ever be found for a request without secretName. */
  hasDefaultKey: boolean;
  /** Where a status record the intake could not write is reported (the webhook is queued all the same). */
  log?: Pick<Logger, 'warn' | 'error'>;
}

/** DNS for the intake check: an unknown host is the caller's mistake (400), a DNS hiccup is ours (503). */
async function resolveAll(host: string) {
  try {
    return await dns.promises.lookup(host, { all: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      throw new ValidationError(`webhook host ${host} does not resolve`, { code: ErrorCode.WEBHOOK_URL_REFUSED });
    }
    throw new TransientError(`cannot resolve ${host}: ${code ?? (err as Error).message}`, { retryAfterMs: 1000 });
  }
}

/** Webhooks API (contract §6): intake, status, cleanup, dead letters. */
export function registerRoutes(app: HttpApp, d: RouteDeps): void {
  const guard = requireBearer(d.apiToken);

  app.post('/api/webhooks', { preHandler: guard }, async (request, reply) => {
    let req: ReturnType<typeof toWebhookRequest>;
    try {
      req = toWebhookRequest(request.body, ulid);
    } catch (err) {
      const e = err as ValidationError;
      if (e.code === ErrorCode.WEBHOOK_PAYLOAD_TOO_LARGE) return sendError(reply, 413, e.code, e.message);
      throw err;
    }
    if (!req.secretName && !d.hasDefaultKey && req.format !== 'raw') {
      throw new ValidationError(
        'no signing key: pass secretName or set WEBHOOKS_SIGNING_SECRET (only a format "raw" body may go unsigned)',
      );
    }
    const url = parseWebhookUrl(req.url);
    await checkHost(url.hostname, d.ssrf, resolveAll);
    // Already accepted (a client retrying its POST): the queue has it; sending it again could deliver twice.
    // A delivered id stays known for 7 days (id-only marker) after its 30-minute status is gone: never re-queued.
    // Redis down here: nothing is queued yet, so the shared error handler's 503 VIGIL_E_TRANSIENT is the truth.
    const existing = await d.store.knownState(req.id);
    if (!existing) {
      // Queue first, with the webhook id as Nats-Msg-Id (JetStream drops a concurrent duplicate POST). Once the
      // publish is acknowledged the webhook IS queued: from then on no error may be answered. A 5xx for a queued
      // webhook makes a client retry it, and a client that sent no `id` gets a fresh ULID on its retry, so the
      // receiver would get it twice. The status write is for readers only: the worker's first attempt creates the
      // same record (BEGIN script) if this one is lost, so a failed write (Redis gone between the two) is logged
      // and answered 202 like any other. The other order (status first, publish second) is worse: a publish that
      // fails after the record is written leaves a `pending` id that is in no queue, and the client's retry of
      // that id is then answered "already accepted" and never queued: lost.
      const { payloadJson: _json, ...command } = req;
      await d.publishSend(command, req.id);
      try {
        await d.store.register(req.id, safeUrl(url), req.eventType, d.now());
      } catch (err) {
        const transient = classify(err) === 'transient';
        d.log?.[transient ? 'warn' : 'error'](
          { err, webhookId: req.id },
          'webhook queued, but its status record was not written (Redis): the worker writes it when it takes the webhook',
        );
      }
    }
    return reply.code(202).send({ id: req.id, status: existing ?? 'pending' });
  });

  app.get<{ Params: { id: string } }>('/api/webhooks/:id', async (request, reply) => {
    const { id } = request.params;
    const status = await d.store.get(id);
    if (status) return status;
    // Its details are gone (kept 30 min after delivery) but the id is still known as delivered (7 days), as the
    // POST of the same id answers: say so rather than "unknown".
    if ((await d.store.knownState(id)) === 'delivered') {
      return {
        id,
        status: 'delivered',
        detailsExpired: true,
        message: `webhook ${id} was delivered; its details are kept 30 min after delivery, the id 7 days`,
      };
    }
    return sendError(reply, 404, ErrorCode.WEBHOOK_NOT_FOUND, `no webhook ${id} (unknown or expired)`);
  });

  app.post('/api/webhooks/cleanup', { preHandler: guard }, async () => d.store.cleanup(d.now()));

  app.get<{ Querystring: { limit?: unknown; subject?: unknown } }>('/api/dlq', async (request) => {
    const query = request.query ?? {};
    const limitText = singleQueryValue(query.limit, 'limit');
    const limit = limitText === undefined || limitText === '' ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new ValidationError(`limit must be a whole number from 1 to 1000, got ${JSON.stringify(limitText)}`);
    }
    const subject = singleQueryValue(query.subject, 'subject') || undefined;
    const entries = await listDlq(d.jsm, { limit, subject });
    // Reads need no token (contract §6), but dead letters hold whole payloads: customer data, and destination URLs
    // that are credentials themselves (a Slack webhook URL). Without the token, the listing says what failed and why,
    // not what was in it; replay needs the token and reads the payload from the stream.
    if (hasBearer(request, d.apiToken)) return { entries, count: entries.length };
    return {
      entries: entries.map((e) => ({ ...e, data: null })),
      count: entries.length,
      payloadsHidden: true,
      hint: 'payloads are shown with Authorization: Bearer $VIGIL_API_TOKEN (or `vigil dlq list --json` over NATS)',
    };
  });

  app.post<{ Params: { seq: string } }>('/api/dlq/:seq/replay', { preHandler: guard }, async (request, reply) => {
    const seq = Number(request.params.seq);
    if (!Number.isInteger(seq) || seq <= 0) throw new ValidationError('seq must be a positive integer');
    const entry = await getDlqEntry(d.jsm, seq);
    const subject = entry.originalSubject;
    const id = subject === 'webhook.send' ? webhookIdOf(entry.data) : undefined;
    // Delivered since it died (an earlier replay, a twin command): sending it again is what the worker refuses, so
    // nothing is published and the stale dead letter goes. The status is never touched here: the worker brings a
    // `dead` webhook back itself when the replayed message arrives (Vigil-Replay-Of, once per message).
    if (id && (await d.store.knownState(id)) === 'delivered') {
      const removal = await removeDlqEntry(d.jsm, seq);
      return reply.code(200).send({ seq, subject, id, status: 'delivered', replayed: false, ...removal });
    }
    const r = await replayDlq(d.js, d.jsm, seq);
    return reply.code(202).send({
      seq,
      subject,
      ...(id ? { id } : {}),
      replayed: true,
      replayedSeq: r.seq,
      duplicate: r.duplicate,
      removed: r.removed,
      ...(r.keptReason ? { keptReason: r.keptReason } : {}),
    });
  });
}

/** A query parameter given at most once (`?subject=a&subject=b` arrives as an array): else 400. */
function singleQueryValue(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ValidationError(`query parameter ${name} must be given once, as text`);
  if (value.length > 512) throw new ValidationError(`query parameter ${name} is longer than 512 characters`);
  return value;
}

/** The id the worker uses: the request's own id, else the event id (see DeliveryWorker). */
function webhookIdOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as { id?: unknown; data?: { id?: unknown } };
  if (typeof e.data?.id === 'string') return e.data.id;
  return typeof e.id === 'string' ? e.id : undefined;
}
