import { Writable } from 'node:stream';
import { ManualClock, type ServiceHandle } from '@vigil/shared';
import {
  type FakeSecretsManager,
  startFakeSecretsManager,
  startNats,
  startRedis,
  type TestServer,
} from '@vigil/shared/testing';
import { connect, type Msg, type NatsConnection } from 'nats';
import { type StartSecretsServiceOptions, startSecretsService } from '../src/service.js';

/** Every log line any service of this test run wrote: the "no secret in logs" check greps these. */
export const capturedLogLines: string[] = [];

export function captureStream(): Writable {
  return new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) capturedLogLines.push(line);
      cb();
    },
  });
}

export interface Stack {
  nats: TestServer;
  redis: TestServer;
  fake: FakeSecretsManager;
}

export function serviceEnv(stack: Stack, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NATS_URL: stack.nats.url,
    REDIS_URL: stack.redis.url,
    HTTP_PORT: '0',
    LOG_LEVEL: 'debug',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: stack.fake.url,
    AWS_ACCESS_KEY_ID: 'test-access-key',
    AWS_SECRET_ACCESS_KEY: 'test-secret-key',
    SECRETS_ERROR_BACKOFF: '1s',
    SECRETS_BREAKER_RESET: '500ms',
    VIGIL_JOBS_FILE: '/nonexistent/jobs.yaml',
    ...extra,
  };
}

export async function startService(
  stack: Stack,
  extra: Record<string, string> = {},
  opts: Partial<StartSecretsServiceOptions> = {},
): Promise<{ svc: ServiceHandle; clock: ManualClock }> {
  const clock = (opts.clock as ManualClock | undefined) ?? new ManualClock(Date.now());
  const svc = await startSecretsService({
    env: serviceEnv(stack, extra),
    clock,
    handleSignals: false,
    logDestination: captureStream(),
    ...opts,
  });
  return { svc, clock };
}

export async function connectTo(stack: Stack): Promise<NatsConnection> {
  return connect({ servers: stack.nats.url });
}

/** Real NATS and Redis, the fake Secrets Manager holding `secrets`, and a connection to watch events with. */
export async function startStack(secrets: Record<string, string> = {}): Promise<{ stack: Stack; nc: NatsConnection }> {
  const [nats, redis, fake] = await Promise.all([startNats(), startRedis(), startFakeSecretsManager(secrets)]);
  const stack = { nats, redis, fake };
  return { stack, nc: await connectTo(stack) };
}

export async function stopStack(stack: Stack | undefined, nc: NatsConnection | undefined): Promise<void> {
  await nc?.close();
  await stack?.fake.close();
  await stack?.redis.stop();
  await stack?.nats.stop();
}

export interface GetAnswer {
  code?: string;
  description?: string;
  body?: any;
}

/** Raw `secrets.get` request, so the service itself (not the client's cache) is what answers. */
export async function rawGet(nc: NatsConnection, name: string): Promise<GetAnswer> {
  const msg: Msg = await nc.request('secrets.get', new TextEncoder().encode(JSON.stringify({ name })), {
    timeout: 5_000,
  });
  const code = msg.headers?.get('Nats-Service-Error-Code');
  if (code) return { code, description: msg.headers?.get('Nats-Service-Error') };
  return { body: JSON.parse(new TextDecoder().decode(msg.data)) };
}
