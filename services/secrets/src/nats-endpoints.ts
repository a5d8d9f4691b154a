import { ErrorCode, type Logger, PermanentError, VigilError } from '@vigil/shared';
import { JSONCodec, type Service, type ServiceMsg } from 'nats';
import { z } from 'zod';
import type { SecretCache } from './secret-cache.js';

const jc = JSONCodec();
const GetRequest = z.object({ name: z.string().min(1).max(512) });

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
      void answerGet(msg, cache, log);
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
  let name: string;
  try {
    name = GetRequest.parse(msg.data.length ? jc.decode(msg.data) : {}).name;
  } catch {
    msg.respondError(400, 'request must be JSON { "name": "<secret name>" }');
    return;
  }
  try {
    msg.respond(jc.encode(await cache.get(name)));
  } catch (err) {
    const [code, description] = errorAnswer(err);
    if (code >= 500) log.error({ secretName: name, code: errorCode(err) }, description);
    msg.respondError(code, description);
  }
}

function errorAnswer(err: unknown): [number, string] {
  if (err instanceof PermanentError && err.code === ErrorCode.SECRET_NOT_FOUND) return [404, err.message];
  if (err instanceof VigilError) return [503, err.message];
  return [503, `secrets service error: ${err instanceof Error ? err.message : String(err)}`];
}

function errorCode(err: unknown): string {
  return err instanceof VigilError ? err.code : 'unknown';
}
