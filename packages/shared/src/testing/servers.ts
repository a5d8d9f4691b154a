import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManagedProcess } from './managed-process.js';
import { freePort } from './ports.js';
import { findBinary } from './binaries.js';

export interface TestServer {
  url: string;
  port: number;
  /** Data directory, kept across restart() (the JetStream store, Redis AOF). */
  dir: string;
  pid(): number | undefined;
  /** Graceful stop. */
  stop(): Promise<void>;
  /** kill -9. */
  kill(): Promise<void>;
  /** Starts again on the same port with the same data directory. */
  restart(): Promise<void>;
  /** Starts it again after stop()/kill() (same as restart when already running). */
  start(): Promise<void>;
}

/** Every temp dir the kit creates starts with this, so leaked processes can be found by their args. */
export const TEST_DIR_PREFIX = 'vigil-test-';

// scripts/run-tests.mjs sets VIGIL_TEST_RUN so its leak check finds this run's servers and no one else's.
const runTag = process.env.VIGIL_TEST_RUN ? `${process.env.VIGIL_TEST_RUN}-` : '';

function tempDir(kind: string): string {
  return mkdtempSync(path.join(tmpdir(), `${TEST_DIR_PREFIX}${runTag}${kind}-`));
}

function wrap(proc: ManagedProcess, url: string, port: number, dir: string): TestServer {
  return {
    url,
    port,
    dir,
    pid: () => proc.pid,
    stop: () => proc.stop(),
    kill: () => proc.kill(),
    restart: () => proc.restart(),
    start: () => proc.start(),
  };
}

export interface StartNatsOptions {
  jetstream?: boolean;
  /** A port chosen beforehand (a client told of it before the server is up); default a free one. */
  port?: number;
}

/** A real nats-server on a free port with its own JetStream store directory. */
export async function startNats(opts: StartNatsOptions = {}): Promise<TestServer> {
  const port = opts.port ?? (await freePort());
  const dir = tempDir('nats');
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (opts.jetstream !== false) args.push('-js', '-sd', dir);
  const proc = new ManagedProcess({ name: 'nats-server', command: findBinary('nats-server'), args, port });
  await proc.start();
  return wrap(proc, `nats://127.0.0.1:${port}`, port, dir);
}

export interface StartRedisOptions {
  /** Keep data across kill/restart with an append-only file. */
  persist?: boolean;
}

/** A real redis-server on a free port with its own directory. */
export async function startRedis(opts: StartRedisOptions = {}): Promise<TestServer> {
  const port = await freePort();
  const dir = tempDir('redis');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push('--appendonly', opts.persist ? 'yes' : 'no');
  const proc = new ManagedProcess({ name: 'redis-server', command: findBinary('redis-server'), args, port });
  await proc.start();
  return wrap(proc, `redis://127.0.0.1:${port}`, port, dir);
}
