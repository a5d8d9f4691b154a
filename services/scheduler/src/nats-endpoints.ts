import { ErrorCode, errorMessage, headerValue, type Logger } from '@vigil/shared';
import { JSONCodec, type Service, type ServiceMsg } from 'nats';
import type { ApiResult, SchedulerApi } from './api.js';

const jc = JSONCodec();

type Req = Record<string, unknown>;
const ENDPOINTS: Record<string, (api: SchedulerApi, req: Req) => ApiResult | Promise<ApiResult>> = {
  'scheduler.jobs': (api) => api.jobs(),
  'scheduler.job': (api, r) => api.job(String(r.job ?? '')),
  'scheduler.runs': (api, r) => api.runs(r),
  'scheduler.run': (api, r) => api.run(String(r.runId ?? '')),
  'scheduler.pause': (api, r) => api.pause(String(r.job ?? ''), true, r.reason ? { reason: r.reason } : undefined),
  'scheduler.resume': (api, r) => api.pause(String(r.job ?? ''), false),
  'scheduler.trigger': (api, r) => {
    const { job, ...body } = r;
    return api.trigger(String(job ?? ''), body, typeof body.requestedBy === 'string' ? body.requestedBy : 'cli');
  },
  'scheduler.health': (api) => api.health(),
};

/**
 * The CLI's NATS API on `vigil-scheduler`: JSON in, JSON out (the HTTP body). Errors answer with the
 * service-error headers (code = HTTP status) and the same `{ error: { code, message } }` body.
 */
export function addSchedulerEndpoints(service: Service, api: SchedulerApi, log: Logger): void {
  for (const [subject, fn] of Object.entries(ENDPOINTS)) {
    service.addEndpoint(subject.replace('.', '-'), {
      subject,
      handler: (err, msg) => {
        if (err) return void log.warn({ err, subject }, 'endpoint error');
        void answer(msg, api, fn, log);
      },
    });
  }
}

async function answer(
  msg: ServiceMsg,
  api: SchedulerApi,
  fn: (api: SchedulerApi, req: Req) => ApiResult | Promise<ApiResult>,
  log: Logger,
) {
  let req: Req;
  try {
    const decoded = msg.data.length ? jc.decode(msg.data) : {};
    req = decoded && typeof decoded === 'object' ? (decoded as Req) : {};
  } catch {
    msg.respondError(
      400,
      'request must be a JSON object',
      jc.encode({ error: { code: ErrorCode.VALIDATION, message: 'request must be a JSON object' } }),
    );
    return;
  }
  try {
    const r = await fn(api, req);
    if (r.status >= 400) {
      const message = (r.body as { error?: { message?: string } }).error?.message ?? 'error';
      msg.respondError(r.status, headerValue(message || 'error', 200), jc.encode(r.body));
    } else msg.respond(jc.encode(r.body));
  } catch (e) {
    log.error({ err: e, subject: msg.subject }, 'endpoint failed');
    try {
      msg.respondError(
        500,
        headerValue(errorMessage(e), 200),
        jc.encode({ error: { code: ErrorCode.UNEXPECTED, message: String(e) } }),
      );
    } catch (replyErr) {
      // e.g. the connection closed: nothing more to tell the caller
      log.warn({ err: replyErr, subject: msg.subject }, 'could not answer the request');
    }
  }
}
