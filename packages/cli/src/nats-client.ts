import { readFileSync } from 'node:fs';
import { type ConnectionOptions, connect, credsAuthenticator, JSONCodec, type NatsConnection } from 'nats';
import { createLogger, ErrorCode, EventBus, natsCredsSchema, natsUrlSchema, type PublishOptions } from '@vigil/shared';
import { type CliEnv, natsWhere, redactNatsUrl } from './config.js';
import { CliError, EXIT, NoAnswerError } from './errors.js';

const jc = JSONCodec();
export const CONNECT_TIMEOUT_MS = 3_000;

/** Per connection: which NATS it is and where that URL came from, for "nothing answers there" messages. */
const whereOf = new WeakMap<NatsConnection, string>();

/** ` at <url> (<where the URL came from>)` for a connection made by connectCli; empty for any other. */
export function atNats(nc: NatsConnection): string {
  const where = whereOf.get(nc);
  return where ? ` at ${where}` : '';
}

/** One connection attempt per server, bounded: a CLI must say "unreachable" quickly, never hang. */
export async function connectCli(env: CliEnv): Promise<NatsConnection> {
  // The services' own rules (exit 78 there): a usage error here, named, before nats.js throws something cryptic.
  for (const [name, schema, value] of [
    ['NATS_URL', natsUrlSchema, env.natsUrl],
    ['NATS_CREDS', natsCredsSchema, env.creds],
  ] as const) {
    const bad = value === undefined ? undefined : schema.safeParse(value).error?.issues[0];
    if (bad) throw new CliError(`${name}: ${bad.message}`, EXIT.USAGE, ErrorCode.CONFIG);
  }
  const servers = env.natsUrl
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const opts: ConnectionOptions = {
    servers,
    name: 'vigil-cli',
    timeout: CONNECT_TIMEOUT_MS,
    reconnect: false,
    maxReconnectAttempts: 0,
  };
  if (env.creds) opts.authenticator = credsAuthenticator(readFileSync(env.creds));
  else if (env.user) {
    opts.user = env.user;
    opts.pass = env.password;
  }
  let nc: NatsConnection;
  try {
    nc = await connect(opts);
  } catch (err) {
    const why = (err as { code?: string; message?: string }).message ?? String(err);
    const source = env.natsUrlSource ? `; ${env.natsUrlSource}` : '';
    throw new CliError(
      `cannot reach NATS at ${redactNatsUrl(env.natsUrl)} (${why}${source}); is Vigil running? Set NATS_URL to point elsewhere.`,
    );
  }
  whereOf.set(nc, natsWhere(env));
  return nc;
}

/**
 * JSON request/reply to a Vigil service endpoint. An error answer (service-error headers) becomes a CliError
 * carrying the service's message; no responder means the service is not running.
 */
export async function requestJson<T>(
  nc: NatsConnection,
  subject: string,
  body: unknown = {},
  timeoutMs = 5_000,
): Promise<T> {
  let msg: Awaited<ReturnType<NatsConnection['request']>>;
  try {
    msg = await nc.request(subject, jc.encode(body), { timeout: timeoutMs });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const service = subject.split('.')[0];
    const hint = subject === 'scheduler.trigger' ? ' (`vigil trigger --queue` queues the run for when it is back)' : '';
    // Say which NATS: the one reached may not be Vigil's (a stray server on 4222, a stale .vigil/env).
    const at = atNats(nc);
    if (code === '503')
      throw new NoAnswerError(`no ${service} service answers on ${subject}${at}: is it running?`, hint, true);
    if (code === 'TIMEOUT')
      throw new NoAnswerError(
        `no answer from the ${service} service on ${subject}${at} within ${timeoutMs / 1000}s: is it running?`,
        hint,
        false,
      );
    // no answer either: whether the service got the request is not known
    throw new NoAnswerError(`${subject} failed: ${(err as Error).message}`, '', false);
  }
  const errCode = msg.headers?.get('Nats-Service-Error-Code');
  if (errCode) {
    let code: string | undefined;
    let message = msg.headers?.get('Nats-Service-Error') || `error ${errCode}`;
    try {
      const parsed = jc.decode(msg.data) as { error?: { code?: string; message?: string } };
      code = parsed.error?.code;
      if (parsed.error?.message) message = parsed.error.message;
    } catch {
      // no body: keep the header text
    }
    throw new CliError(message, 1, code);
  }
  return jc.decode(msg.data) as T;
}

/** Publishes one Vigil event from the CLI (validated and stored like any service's, as source `vigil/cli`). */
export function publishEvent(nc: NatsConnection, subject: string, data: unknown, opts?: PublishOptions) {
  const bus = new EventBus(nc, { service: 'cli', logger: createLogger({ service: 'cli', level: 'silent' }) });
  return bus.publish(subject, data, opts);
}
