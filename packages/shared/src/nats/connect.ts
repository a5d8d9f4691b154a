import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { ErrorCode } from '../errors/codes.js';
import { errorMessage } from '../errors/error-message.js';
import { TransientError } from '../errors/vigil-error.js';
import { useFastProtocolEncoder } from './protocol-encoder.js';

export interface ConnectNatsOptions {
  /** Comma-separated list, e.g. `nats://a:4222,nats://b:4222`. */
  servers: string;
  /** Path of a .creds file (JWT + nkey). */
  creds?: string;
  user?: string;
  password?: string;
  /** Connection name shown by the server (service name / instance). */
  name: string;
  logger: Logger;
  /** Keep trying the first connect instead of failing at once (default true: a service waits for its broker). */
  waitOnFirstConnect?: boolean;
  reconnectTimeWaitMs?: number;
  /** Extra nats.js options (tests). */
  extra?: Partial<ConnectionOptions>;
}

type LinkState = 'connected' | 'disconnected' | 'closed';
const states = new WeakMap<NatsConnection, LinkState>();

/**
 * Connects to NATS and never gives up reconnecting (jittered waits). Every status change is a
 * structured log line; natsCheck() reports it for readiness.
 */
export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  useFastProtocolEncoder();
  const servers = opts.servers
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const options: ConnectionOptions = {
    servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: opts.reconnectTimeWaitMs ?? 500,
    reconnectJitter: 250,
    reconnectJitterTLS: 1000,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? true,
    pingInterval: 20_000,
    // An Error (stack capture) per request and per request timer costs ~10 µs on every JetStream publish;
    // our errors name the subject, which is what the async stack told.
    noAsyncTraces: true,
    ...opts.extra,
  };
  if (opts.creds) options.authenticator = credsAuthenticator(readFileSync(opts.creds));
  else if (opts.user) {
    options.user = opts.user;
    options.pass = opts.password;
  }
  const log = opts.logger.child({ component: 'nats' });
  const nc = await connect(options);
  states.set(nc, 'connected');
  log.info({ server: nc.getServer(), name: opts.name }, 'nats connected');
  void watchStatus(nc, log);
  void nc.closed().then((err) => {
    states.set(nc, 'closed');
    if (err) log.error({ err }, 'nats connection closed with error');
    else log.info('nats connection closed');
  });
  return nc;
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case 'disconnect':
        states.set(nc, 'disconnected');
        log.warn({ server: s.data }, 'nats disconnected; reconnecting');
        break;
      case 'reconnect':
        states.set(nc, 'connected');
        log.info({ server: s.data }, 'nats reconnected');
        break;
      case 'error':
        log.error({ err: s.data }, 'nats error');
        break;
      case 'ldm':
        log.warn({ server: s.data }, 'nats server entering lame duck mode');
        break;
      default:
        log.debug({ status: s.type, data: s.data }, 'nats status');
    }
  }
}

/** Readiness check: throws while disconnected or closed, or when the server does not answer a ping. */
export async function natsCheck(nc: NatsConnection, timeoutMs = 2_000): Promise<void> {
  const state = nc.isClosed() ? 'closed' : (states.get(nc) ?? 'connected');
  if (state !== 'connected') {
    throw new TransientError(`nats ${state}`, { code: ErrorCode.NATS_UNAVAILABLE });
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      nc.flush().catch((err: unknown) => {
        throw new TransientError(`nats ping failed: ${errorMessage(err)}`, {
          code: ErrorCode.NATS_UNAVAILABLE,
          cause: err,
        });
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new TransientError('nats ping timed out', { code: ErrorCode.NATS_UNAVAILABLE })),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
