import { ErrorCode, JsErrCode, jsErrCode, VigilError, withTimeout } from '@vigil/shared';
import type { NatsConnection } from 'nats';
import { type CliEnv, natsWhere } from './config.js';
import { CliError } from './errors.js';
import { connectCli } from './nats-client.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

export interface CommandContext {
  env: CliEnv;
  io: Io;
  json: boolean;
  /** Connects, runs `fn`, always closes. */
  withNats<T>(fn: (nc: NatsConnection) => Promise<T>): Promise<T>;
  /** Prints `value` as JSON with --json, else the human rendering. */
  print(value: unknown, human: () => string): void;
}

export function commandContext(env: CliEnv, io: Io, json: boolean): CommandContext {
  return {
    env,
    io,
    json,
    async withNats(fn) {
      const nc = await connectCli(env);
      try {
        return await fn(nc);
      } catch (err) {
        throw noJetStreamThere(err, env) ?? err;
      } finally {
        // bounded: a broker that stopped answering must not keep the CLI from printing what happened
        await withTimeout(nc.close(), CLOSE_TIMEOUT_MS).catch(() => undefined);
      }
    },
    print(value, human) {
      io.out(json ? JSON.stringify(value, null, 2) : human());
    },
  };
}

/** How long closing a connection may take before the CLI goes on without it (the process exits after printing). */
const CLOSE_TIMEOUT_MS = 1_000;

/**
 * A JetStream operation (dlq, test-email, trigger --queue) that found no JetStream, or no Vigil stream, on the NATS
 * reached: said with that NATS and where its URL came from (a stray server on 4222 answers "503" otherwise).
 */
function noJetStreamThere(err: unknown, env: CliEnv): CliError | undefined {
  if (err instanceof CliError) return undefined;
  const where = `at ${natsWhere(env)}: is Vigil running there?`;
  // a JetStream API request nobody answers: no JetStream on this server
  if ((err as { code?: unknown }).code === '503') return new CliError(`no JetStream answers ${where}`);
  if (jsErrCode(err) === JsErrCode.STREAM_NOT_FOUND) return new CliError(`${(err as Error).message} ${where}`);
  // a publish no stream takes (EventBus: `publish <subject>: NATS unavailable (… 503)`)
  if (err instanceof VigilError && err.code === ErrorCode.NATS_UNAVAILABLE && err.details?.natsCode === '503') {
    const what = err.message.split(': NATS unavailable')[0];
    return new CliError(`${what}: no JetStream stream takes it ${where}`, 1, err.code);
  }
  return undefined;
}
