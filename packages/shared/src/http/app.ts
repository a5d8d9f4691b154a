import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { ErrorCode } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { createErrorHandler } from './error-handler.js';
import type { ReadinessSource } from './readiness.js';
import { sendError } from './send-error.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;
/** Longest path parameter: ids of up to 200 characters, percent-encoded when they hold reserved characters. */
export const MAX_PARAM_LENGTH = 1024;

export interface HttpAppOptions {
  service: string;
  version: string;
  commit?: string;
  logger: Logger;
  registry: Registry;
  /**
   * This process's instance id (`<host>-<pid>-<hex>`), in the health answers: a probe (the dev stack's, an operator's)
   * can tell which process answered on a port another one might have taken.
   */
  instance?: string;
  /** Answers /health/ready; without one the service is always ready (tools, tests). */
  readiness?: ReadinessSource;
  bodyLimit?: number;
  /**
   * The stand-in of a service still starting (lifecycle/starting-http.ts): every route but health, metrics and
   * version answers 503 VIGIL_E_STARTING (the service's own routes do not exist yet), not 404.
   */
  startingUp?: boolean;
}

/**
 * The HTTP face every service shares: liveness, readiness with per-check latency, Prometheus metrics,
 * version, JSON errors (404, 400, 413, 500) and a 1 MiB body limit. Fastify's per-request logging is off;
 * failures are logged by the error handler through our logger.
 */
export function createHttpApp(opts: HttpAppOptions): FastifyInstance {
  const log = opts.logger.child({ component: 'http' });
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? BODY_LIMIT_BYTES,
    // Our own 503 while closing (below): Fastify's has its own body, not the contract's { error: { code, message } }.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Ids in paths may be 200 characters (webhook ids, run ids); Fastify's default of 100 refused longer ones
    // with its own 414 before any route could answer.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Router refusals (a bad URL encoding, a parameter still too long) in the contract's shape too.
    frameworkErrors: (err, _request, reply) =>
      sendError(reply, err.statusCode ?? 400, ErrorCode.VALIDATION, `${err.message} (${err.code})`),
  });

  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (request, reply) => {
    // Liveness stays true while the process drains: a probe must not restart a pod that is stopping on purpose.
    if (!closing || request.url === '/health/live') return;
    reply.header('connection', 'close');
    return sendError(reply, 503, ErrorCode.SHUTTING_DOWN, `${opts.service} is shutting down`);
  });

  // Every API takes JSON: a text/plain body is refused as such (415 naming JSON) rather than parsed into a string
  // that a schema then calls "expected object, received string".
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(createErrorHandler(log));
  app.setNotFoundHandler((request, reply) =>
    opts.startingUp
      ? sendError(
          reply,
          503,
          ErrorCode.STARTING,
          `${opts.service} is starting (waiting for NATS): try again once /health/ready answers 200`,
        )
      : sendError(reply, 404, ErrorCode.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`),
  );

  const who = opts.instance ? { instance: opts.instance } : {};
  app.get('/health/live', async () => ({ live: true, service: opts.service, ...who }));

  app.get('/health/ready', async (_request, reply) => {
    const report = opts.readiness
      ? await opts.readiness.evaluate()
      : { ready: true, phase: 'running' as const, checks: {} };
    return reply.code(report.ready ? 200 : 503).send({ ...report, ...who });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(text);
  });

  app.get('/version', async () => ({ name: opts.service, version: opts.version, commit: opts.commit ?? 'unknown' }));

  return app;
}
