import type { FastifyInstance } from 'fastify';
import { createHttpApp, type HttpAppOptions } from '../http/index.js';

/**
 * Holds the service's port while start-up waits for NATS. Fastify takes no routes once it listens, and a service
 * adds its API in start(), after NATS is there; without a stand-in, an orchestrator's probes meet a closed port and
 * restart a process that is only waiting for its broker (on a fresh cluster NATS is often the last to be ready).
 * It answers /health/live 200, /health/ready 503 naming what start-up waits for, /metrics and /version, and 503
 * VIGIL_E_STARTING to everything else; it closes just before the service's own server listens on the same port.
 */
export async function listenWhileStarting(
  opts: HttpAppOptions & { host: string; port: number },
): Promise<{ close(): Promise<void> }> {
  const app: FastifyInstance = createHttpApp({ ...opts, startingUp: true });
  // No client keeps a connection to the stand-in: one kept would be cut when it closes, failing the next request
  // (a scrape, a probe) instead of reaching the service's own server.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('connection', 'close');
  });
  await app.listen({ host: opts.host, port: opts.port });
  return {
    close: async () => {
      await app.close();
      // keep-alive connections of probes would otherwise hold the port's old server a little longer
      app.server.closeAllConnections();
    },
  };
}
