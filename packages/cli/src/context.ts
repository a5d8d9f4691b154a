import type { NatsConnection } from 'nats';
import type { CliEnv } from './config.js';
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
      } finally {
        await nc.close().catch(() => undefined);
      }
    },
    print(value, human) {
      io.out(json ? JSON.stringify(value, null, 2) : human());
    },
  };
}
