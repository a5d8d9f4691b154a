import {
  ErrorCode,
  errorMessage,
  headerValue,
  type Logger,
  PermanentError,
  SECRET_NAME_PATTERN,
  SECRET_NAME_RULE,
  VigilError,
} from '@vigil/shared';
import { JSONCodec, type Service, type ServiceMsg } from 'nats';
import { z } from 'zod';
import type { SecretCache } from './secret-cache.js';

const jc = JSONCodec();
const GetRequest = z.object({ name: z.string().regex(SECRET_NAME_PATTERN, SECRET_NAME_RULE) });
/** A NATS header value must not hold CR or LF (nats.js throws): error texts are flattened and kept short. */
const MAX_DESCRIPTION = 512;

/**
 * `secrets.get` `{ name }` -> `{ name, value, version?, stale, ageSeconds, source }` or an error header
 * (404 unknown secret, 503 nothing to serve, 400 bad request); `secrets.status` -> ages and staleness of
 * every cached secret, never a value (`vigil secrets status`).
 */
export function addSecretsEndpoints(service: Service, cache: SecretCache, log: Logger): void {
  service.addEndpoint('secrets-get', {
    subject: 'secrets.get',
    handler: (err, msg) => {
      if (err) return void log.warn({ err }, 'secrets.get endpoint error');
      // Never an unhandled rejection: that would stop the whole service.
      answerGet(msg, cache, log).catch((e) => log.error({ err: e }, 'secrets.get: cannot answer the request'));
    },
  });
  service.addEndpoint('secrets-status', {
    subject: 'secrets.status',
    handler: (err, msg) => {
      if (err) return void log.warn({ err }, 'secrets.status endpoint error');
      msg.respond(jc.encode(cache.status()));
    },
  });
}

async function answerGet(msg: ServiceMsg, cache: SecretCache, log: Logger): Promise<void> {
  let input: unknown;
  try {
    input = msg.data.length ? jc.decode(msg.data) : {};
  } catch {
    input = undefined;
  }
  const parsed = GetRequest.safeParse(input);
  if (!parsed.success) {
    const badName = typeof (input as { name?: unknown } | undefined)?.name === 'string';
    msg.respondError(
      400,
      badName ? `invalid secret name: ${SECRET_NAME_RULE}` : 'request must be JSON { "name": "<secret name>" }',
    );
    return;
  }
  const name = parsed.data.name;
  let value: Awaited<ReturnType<SecretCache['get']>>;
  try {
    value = await cache.get(name);
  } catch (err) {
    const [code, description] = errorAnswer(err);
    if (code >= 500) log.error({ secretName: name, code: errorCode(err) }, description);
    msg.respondError(code, headerValue(description, MAX_DESCRIPTION));
    return;
  }
  msg.respond(jc.encode(value));
}

function errorAnswer(err: unknown): [number, string] {
  if (err instanceof PermanentError && err.code === ErrorCode.SECRET_NOT_FOUND) return [404, err.message];
  if (err instanceof VigilError) return [503, err.message];
  return [503, `secrets service error: ${errorMessage(err)}`];
}

function errorCode(err: unknown): string {
  return err instanceof VigilError ? err.code : 'unknown';
}
