import type { FastifyReply } from 'fastify';

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** The one error shape of every Vigil HTTP API: `{ error: { code, message } }`. */
export function sendError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
): FastifyReply {
  const body: ErrorBody = { error: { code, message, ...(details ? { details } : {}) } };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}
