import { baseEnvSchema } from '../config/index.js';
import { TransientError } from '../errors/index.js';
import { runService } from '../lifecycle/run-service.js';
import type { ServiceHandle } from '../lifecycle/types.js';
import { type Breaker, createBreaker } from '../resilience/breaker.js';

export interface InstanceWithBreaker {
  handle: ServiceHandle;
  /** Turn the breaker's upstream up or down (down: every call fails with a TransientError). */
  upstream: { up: boolean };
  breaker: Breaker<[], string>;
  /** The instance id its health answers carry. */
  instance: string;
}

/**
 * A real service instance (runService on the given NATS, no streams) with one breaker around an upstream the test
 * turns up and down: what health answers and system health are tested against.
 */
export async function startInstanceWithBreaker(opts: {
  natsUrl: string;
  service: string;
  breakerName: string;
  /** Default 60 s: the breaker stays open for the whole test unless a test wants it half-open. */
  resetTimeoutMs?: number;
  /** Publish `breaker.*` events like the real services (default false). */
  publishEvents?: boolean;
}): Promise<InstanceWithBreaker> {
  const upstream = { up: false };
  let breaker: Breaker<[], string> | undefined;
  const handle = await runService({
    name: opts.service,
    version: '1.0.0',
    configSchema: baseEnvSchema,
    env: { NATS_URL: opts.natsUrl, HTTP_PORT: '0', LOG_LEVEL: 'silent' },
    defaultPort: 0,
    handleSignals: false,
    streams: false,
    start: async (rt) => {
      breaker = createBreaker(
        opts.breakerName,
        async () => {
          if (!upstream.up) throw new TransientError('connect ECONNREFUSED');
          return 'ok';
        },
        {
          service: opts.service,
          ...(opts.publishEvents ? { bus: rt.bus } : {}),
          registry: rt.registry,
          failureThreshold: 1,
          resetTimeoutMs: opts.resetTimeoutMs ?? 60_000,
        },
      );
      rt.onShutdown(() => breaker?.shutdown());
    },
  });
  return { handle, upstream, breaker: breaker as Breaker<[], string>, instance: handle.runtime.instance };
}
