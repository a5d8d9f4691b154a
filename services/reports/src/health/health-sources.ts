import {
  type JobDefinition,
  type JobRun,
  JobRunSchema,
  openKv,
  type Runtime,
  type SecretStatus,
  serviceReadiness,
  VIGIL_SERVICES,
} from '@vigil/shared';
import type { NatsConnection } from 'nats';
import type { HandlerSecrets } from '../handler-api.js';
import type { ComponentHealth, SecretHealth } from './health-analysis.js';

export const RUNS_BUCKET = 'vigil_runs';

/** Everything health.daily reads, behind one interface (the handler never sees NATS). */
export interface HealthSources {
  runs(): Promise<JobRun[]>;
  dlqDepth(): Promise<number>;
  secretHealth(names: string[]): Promise<SecretHealth[]>;
  /**
   * Every Vigil service asked once: its readiness with the dependency checks that fail (Redis, SMTP, NATS…), and the
   * breakers open on its running instances.
   */
  services(): Promise<{ components: ComponentHealth[]; openBreakers: { service: string; name: string }[] }>;
  /**
   * Publishes `notify.send` under the run's correlation id. `msgId` names the run's report: a retried attempt of the
   * run is stored once, another run's report of the same day is not dropped (`dedupeKey` groups them at the notifier).
   */
  notify(
    data: {
      severity: string;
      title: string;
      body: string;
      recipients?: string[];
      dedupeKey: string;
      details?: Record<string, unknown>;
    },
    ids: { correlationId: string; msgId: string },
  ): Promise<void>;
}

/** Secret names a jobs file depends on: target lists, alert recipients, `${secret:…}` in options. */
export function secretNamesOf(jobs: JobDefinition[]): string[] {
  const names = new Set<string>();
  for (const j of jobs) {
    if (j.targets && !Array.isArray(j.targets)) names.add(j.targets.secret);
    if (j.alerts?.secret) names.add(j.alerts.secret);
    for (const m of JSON.stringify(j.options).matchAll(/\$\{secret:([A-Za-z0-9_\-/]+)/g)) names.add(m[1]);
  }
  return [...names].sort();
}

export function natsHealthSources(
  rt: Pick<Runtime<unknown>, 'nc' | 'js' | 'jsm' | 'bus' | 'log'>,
  secrets:
    | { get(name: string, opts?: { redact?: boolean }): Promise<{ stale: boolean; ageSeconds: number }> }
    | undefined,
): HealthSources {
  return {
    async runs() {
      const kv = await openKv(rt.js, RUNS_BUCKET);
      const out: JobRun[] = [];
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      for (let i = 0; i < keys.length; i += 64) {
        const entries = await Promise.all(keys.slice(i, i + 64).map((k) => kv.get(k)));
        for (const e of entries) {
          if (e?.operation !== 'PUT' || e.value.length === 0) continue;
          try {
            const parsed = JobRunSchema.safeParse(JSON.parse(e.string()));
            if (parsed.success) out.push(parsed.data);
          } catch {
            // a foreign value in the bucket is not a run
          }
        }
      }
      return out;
    },
    dlqDepth: () => rt.bus.dlqDepth(),
    async secretHealth(names) {
      if (!secrets) return [];
      const [named, cached] = await Promise.all([
        Promise.all(
          names.map(async (name): Promise<SecretHealth> => {
            try {
              // only its staleness and age are read: the value is not registered for redaction from here
              const v = await secrets.get(name, { redact: false });
              return { name, stale: v.stale, ageSeconds: v.ageSeconds };
            } catch (err) {
              return { name, stale: true, error: (err as Error).message };
            }
          }),
        ),
        staleInCache(rt.nc),
      ]);
      // The jobs file does not name every secret Vigil lives on (SECRET_NAMES, the notifier's recipients secret):
      // what the secrets service serves stale right now counts too.
      const seen = new Set(names);
      return [...named, ...cached.filter((s) => !seen.has(s.name))];
    },
    async services() {
      // Longer than a readiness check's own bound (2 s): an instance whose dependency hangs still answers, not ready.
      // A service that no instance answered for is asked once more a few seconds later: a restart of a few seconds
      // (the moment the report is made) is not "not running".
      const ask = (s: string) => serviceReadiness(rt.nc, s, 3_000);
      const all = await Promise.all(
        VIGIL_SERVICES.map(async (s) => {
          const first = await ask(s);
          if (first.instances > 0) return first;
          await new Promise((r) => setTimeout(r, 5_000));
          return ask(s);
        }),
      );
      const components = all.map((r) => {
        const checks = (r.checks ?? {}) as Record<string, { ok?: boolean }>;
        const failing = Object.entries(checks)
          .filter(([, c]) => c.ok === false)
          .map(([name]) => name);
        return { service: r.service, ready: r.ready, instances: r.instances, failing, error: r.error };
      });
      // What the instances alive now report in their health answers: the last breaker.* event can be from a process
      // that has since been replaced (a new process starts closed and never publishes "closed"). Half-open ones are
      // left out: they let the next call through and close when it succeeds.
      const open = new Map<string, { service: string; name: string }>();
      for (const r of all) {
        // one line per breaker, however many instances have it open
        for (const b of r.openBreakers ?? [])
          if (b.state === 'open') open.set(`${r.service}\0${b.name}`, { service: r.service, name: b.name });
      }
      return { components, openBreakers: [...open.values()] };
    },
    async notify(data, { correlationId, msgId }) {
      await rt.bus.publish('notify.send', data, { msgId, correlationId });
    },
  };
}

/**
 * Secrets the secrets service serves stale now (`secrets.status`: cached values past their TTL while the provider
 * fails); none when it does not answer (its absence shows in the services' readiness instead).
 */
async function staleInCache(nc: NatsConnection): Promise<SecretHealth[]> {
  try {
    const m = await nc.request('secrets.status', new TextEncoder().encode('{}'), { timeout: 2_000 });
    const rows: unknown = JSON.parse(new TextDecoder().decode(m.data));
    if (!Array.isArray(rows)) return [];
    return (rows as SecretStatus[])
      .filter((s) => typeof s?.name === 'string' && s.cached && s.stale)
      .map((s) => ({
        name: s.name,
        stale: true,
        ...(typeof s.ageSeconds === 'number' ? { ageSeconds: s.ageSeconds } : {}),
        ...(s.lastError?.message ? { cause: s.lastError.message } : {}),
      }));
  } catch {
    return [];
  }
}

/** Adapts HandlerSecrets-like clients (only `get`) for tests. */
export type SecretsForHealth = Pick<HandlerSecrets, 'get'>;
