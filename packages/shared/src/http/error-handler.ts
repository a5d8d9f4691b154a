import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  classify,
  ErrorCode,
  errorCodeOf,
  redisUnavailableReason,
  statusOf,
  TransientError,
  VigilError,
} from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { sendError } from './send-error.js';

const CODE_BY_STATUS: Record<number, string> = {
  400: ErrorCode.VALIDATION,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  409: ErrorCode.CONFLICT,
  413: ErrorCode.BODY_TOO_LARGE,
  415: ErrorCode.VALIDATION,
};

function statusOfVigilError(err: VigilError): number {
  if (err.errorClass === 'validation') return 400;
  if (err.code.endsWith('NOT_FOUND')) return 404;
  if (err.code === ErrorCode.CONFLICT || err.code.endsWith('ALREADY_RUNNING')) return 409;
  if (err.code === ErrorCode.UNAUTHORIZED) return 401;
  if (err.code === ErrorCode.FORBIDDEN) return 403;
  if (err.code === ErrorCode.SHUTTING_DOWN || err.errorClass === 'transient') return 503;
  if (err.errorClass === 'permanent') return err.code === ErrorCode.HTTP_STATUS ? 502 : 422;
  return 500;
}

/** Seconds a client is asked to wait before retrying a request a dependency outage failed. */
const UNAVAILABLE_RETRY_AFTER_S = 1;

/**
 * The answer to a library error that `classify` calls transient and that carries no HTTP status of its own: a
 * dependency could not be reached (Redis, a socket reset, a NATS timeout). That is no bug (500 VIGIL_E_UNEXPECTED):
 * the request may well succeed in a moment, so it is 503 VIGIL_E_TRANSIENT with Retry-After, and a message that says
 * what is down without the library's text (addresses, internals stay in the log).
 */
function unavailableMessage(err: Error): string | undefined {
  if (statusOf(err) !== undefined || classify(err) !== 'transient') return undefined;
  const redis = redisUnavailableReason(err);
  if (redis) return `Redis unavailable: ${redis}; retry`;
  const what = err.name === 'NatsError' ? 'NATS' : 'dependency';
  const why = errorCodeOf(err) ?? (err.name && err.name !== 'Error' ? err.name : 'connection failure');
  return `${what} unavailable (${why}); retry`;
}

/** Every error leaves as `{ error: { code, message } }`; internals of unexpected errors are logged, not sent. */
export function createErrorHandler(log: Logger) {
  return function errorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
    if (err instanceof VigilError) {
      const status = statusOfVigilError(err);
      if (status >= 500) log.warn({ err, route: request.routeOptions.url }, 'request failed');
      if (err instanceof TransientError && err.retryAfterMs !== undefined) {
        reply.header('retry-after', Math.ceil(err.retryAfterMs / 1000));
      }
      return sendError(reply, status, err.code, err.message);
    }
    if (err.name === 'ZodError') return sendError(reply, 400, ErrorCode.VALIDATION, err.message);
    const fe = err as FastifyError;
    const status = fe.statusCode;
    if (fe.validation) return sendError(reply, 400, ErrorCode.VALIDATION, err.message);
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code = status === 413 ? ErrorCode.BODY_TOO_LARGE : (CODE_BY_STATUS[status] ?? ErrorCode.VALIDATION);
      const message =
        status === 413
          ? 'request body is larger than 1 MiB'
          : status === 415
            ? `send the request body as JSON with content-type: application/json (got ${request.headers['content-type'] ?? 'no content-type'})`
            : err.message;
      return sendError(reply, status, code, message);
    }
    const unavailable = unavailableMessage(err);
    if (unavailable) {
      log.warn(
        { err, method: request.method, route: request.routeOptions.url },
        'request failed: dependency unavailable',
      );
      reply.header('retry-after', UNAVAILABLE_RETRY_AFTER_S);
      return sendError(reply, 503, ErrorCode.TRANSIENT, unavailable);
    }
    log.error({ err, method: request.method, route: request.routeOptions.url }, 'unhandled error in route');
    return sendError(reply, 500, ErrorCode.UNEXPECTED, 'internal error');
  };
}
