import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../errors/index.js';
import { sendError } from './send-error.js';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

const bearerOf = (request: FastifyRequest): string | undefined => {
  const header = request.headers.authorization;
  return typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim())?.[1].trim() : undefined;
};

/**
 * True when the request carries the configured token (never while none is configured): for a read route that answers
 * everyone but shows some of its content only to holders of the token.
 */
export function hasBearer(request: FastifyRequest, token: string | undefined | (() => string | undefined)): boolean {
  const expected = typeof token === 'function' ? token() : token;
  const given = bearerOf(request);
  return !!expected && given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

/**
 * preHandler for mutating routes: 503 while no token is configured (fail closed, never open), 401 without a
 * bearer token, 403 with a wrong one. Compares hashes in constant time, so neither content nor length leaks.
 * Pass a function to pick up a rotated token without a restart.
 */
export function requireBearer(token: string | undefined | (() => string | undefined)) {
  return async function bearerGuard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const expected = typeof token === 'function' ? token() : token;
    if (!expected) {
      return sendError(reply, 503, ErrorCode.API_TOKEN_UNSET, 'VIGIL_API_TOKEN is not set: mutating routes are off');
    }
    const given = bearerOf(request);
    if (given === undefined) {
      reply.header('www-authenticate', 'Bearer');
      return sendError(reply, 401, ErrorCode.UNAUTHORIZED, 'missing bearer token');
    }
    if (!timingSafeEqual(digest(given), digest(expected))) {
      return sendError(reply, 403, ErrorCode.FORBIDDEN, 'wrong bearer token');
    }
    return undefined;
  };
}
