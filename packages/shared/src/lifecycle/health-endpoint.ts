import { JSONCodec, type NatsConnection, type Service } from 'nats';
import type { Readiness } from '../http/index.js';
import type { Logger } from '../log/index.js';

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const jc = JSONCodec();

export interface HealthAnswer {
  service: string;
  instance: string;
  version: string;
  ready: boolean;
  phase: string;
  checks: Record<string, { ok: boolean; latencyMs: number; error?: string }>;
}

/**
 * Registers the NATS micro-service `vigil-<name>` (discoverable with $SRV.PING/INFO/STATS) with the endpoint
 * `vigil.health.<name>`, answering this instance's readiness. The scheduler aggregates these.
 */
export async function registerNatsService(
  nc: NatsConnection,
  opts: { name: string; instance: string; version: string; readiness: Readiness; log: Logger },
): Promise<Service> {
  const service = await nc.services.add({
    name: `vigil-${opts.name}`,
    // The micro protocol insists on semver; a dev build's "dev" or a git sha is not.
    version: SEMVER.test(opts.version) ? opts.version : '0.0.0',
    description: `Vigil ${opts.name}`,
    metadata: { instance: opts.instance, version: opts.version },
  });
  service.addEndpoint('health', {
    subject: `vigil.health.${opts.name}`,
    handler: (err, msg) => {
      if (err) {
        opts.log.warn({ err }, 'health endpoint error');
        return;
      }
      void opts.readiness.evaluate().then(
        (report) => {
          const answer: HealthAnswer = {
            service: opts.name,
            instance: opts.instance,
            version: opts.version,
            ready: report.ready,
            phase: report.phase,
            checks: report.checks,
          };
          msg.respond(jc.encode(answer));
        },
        (e: unknown) => msg.respondError(500, e instanceof Error ? e.message : String(e)),
      );
    },
  });
  return service;
}
