import { JSONCodec, type NatsConnection, RequestStrategy, type Service } from 'nats';
import type { Readiness } from '../http/index.js';
import { errorCodeOf } from '../errors/classify.js';
import { errorMessage } from '../errors/error-message.js';
import { headerValue } from '../events/headers.js';
import type { Logger } from '../log/index.js';
import type { BreakerStatus, ListedBreaker, UnprovenBreakerStatus } from '../resilience/breaker.js';

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const jc = JSONCodec();

export interface HealthAnswer {
  service: string;
  instance: string;
  version: string;
  ready: boolean;
  phase: string;
  checks: Record<string, { ok: boolean; latencyMs: number; error?: string }>;
  /** This instance's breakers that are not closed; absent in answers of versions from before it was added. */
  breakers?: BreakerStatus[];
  /**
   * This instance's breakers that are closed but have not let a call succeed since they were created (not tried yet,
   * or fewer failures than their threshold: an instance restarted while its dependency is down has these), name and
   * creation time. A separate list, so that `breakers` keeps meaning "not closed" for every reader. Absent in answers
   * of versions from before it was added (their breakers' proof is unknown).
   */
  breakersUnproven?: Array<Pick<UnprovenBreakerStatus, 'name' | 'since'>>;
  /**
   * When this instance started: ISO 8601 in UTC with milliseconds (`2026-03-01T10:00:00.000Z`), the start of its
   * process (runService), not when it registered here. Absent in answers of versions from before it was added.
   */
  startedAt?: string;
}

/** A breaker that is not closed on one instance of a service. */
export interface InstanceBreaker extends BreakerStatus {
  instance: string;
}

/**
 * Registers the NATS micro-service `vigil-<name>` (discoverable with $SRV.PING/INFO/STATS) with the endpoint
 * `vigil.health.<name>`, answering this instance's readiness and the breakers it has that are not closed (`breakers`,
 * from runService: those created with the instance's metrics registry). The scheduler aggregates these.
 */
export async function registerNatsService(
  nc: NatsConnection,
  opts: {
    name: string;
    instance: string;
    version: string;
    readiness: Readiness;
    log: Logger;
    /** This instance's breakers that are not closed, and those closed but not proven yet; none when omitted. */
    breakers?: () => ListedBreaker[];
    /** When the instance started (epoch ms; answered as ISO 8601 `startedAt`); left out of the answer when omitted. */
    startedAt?: number;
  },
): Promise<Service> {
  const service = await nc.services.add({
    name: `vigil-${opts.name}`,
    // The micro protocol insists on semver; a dev build's "dev" or a git sha is not.
    version: SEMVER.test(opts.version) ? opts.version : '0.0.0',
    description: `Vigil ${opts.name}`,
    metadata: { instance: opts.instance, version: opts.version },
  });
  const startedAt =
    opts.startedAt !== undefined && Number.isFinite(opts.startedAt)
      ? new Date(opts.startedAt).toISOString()
      : undefined;
  const answer = (msg: { respond(data: Uint8Array): boolean; respondError?(code: number, text: string): boolean }) =>
    void opts.readiness.evaluate().then(
      (report) => {
        const listed = opts.breakers?.() ?? [];
        const body: HealthAnswer = {
          service: opts.name,
          instance: opts.instance,
          version: opts.version,
          ready: report.ready,
          phase: report.phase,
          checks: report.checks,
          breakers: listed.filter((b): b is BreakerStatus => b.state !== 'closed'),
          breakersUnproven: listed
            .filter((b): b is UnprovenBreakerStatus => b.state === 'closed')
            .map((b) => ({ name: b.name, since: b.since })),
          ...(startedAt ? { startedAt } : {}),
        };
        msg.respond(jc.encode(body));
      },
      (e: unknown) => msg.respondError?.(500, headerValue(errorMessage(e), 200)),
    );
  service.addEndpoint('health', {
    subject: `vigil.health.${opts.name}`,
    handler: (err, msg) => {
      if (err) {
        opts.log.warn({ err }, 'health endpoint error');
        return;
      }
      answer(msg);
    },
  });
  // The endpoint above is a queue group (one instance answers); this subject is answered by every instance, so a
  // broken replica behind a healthy one is seen.
  nc.subscribe(eachSubject(opts.name), { callback: (err, msg) => (err ? undefined : answer(msg)) });
  return service;
}

const eachSubject = (name: string) => `vigil.health.${name}.each`;

/** The services of a Vigil deployment (each answers `vigil.health.<name>`). */
export const VIGIL_SERVICES = ['scheduler', 'reports', 'notifier', 'secrets', 'webhooks'] as const;

export interface ServiceReadiness {
  service: string;
  /** True when at least one instance answered and every instance that answered is ready. */
  ready: boolean;
  instances: number;
  checks?: unknown;
  /** Why not ready: no answer, or which instances are not ready. */
  error?: string;
  /** Breakers not closed on the instances that answered, each with its instance; absent when there are none. */
  openBreakers?: InstanceBreaker[];
  /** Instances whose answer listed no breakers (a version from before answers had them): their breakers are unknown. */
  breakersUnknown?: string[];
  /**
   * Only when asked for (`{ instances: true }`, the notifier's watchdog), and only when there are some: breakers closed
   * on an instance that answered but not proven there yet (no call has succeeded through them since it started), each
   * with its instance and when it was created. Instances of a version from before answers had them list none.
   */
  unprovenBreakers?: Array<{ instance: string; name: string; since: string }>;
  /** Only when asked for (`{ instances: true }`, the notifier's watchdog): every instance that answered, with when it
   * started if it said. */
  instanceStarts?: InstanceStart[];
  /** Only when asked for (`{ instances: true }`): the instances that answered not ready, with why. */
  notReady?: NotReadyInstance[];
}

/** An instance that answered, and when it started (epoch ms, from its answer's ISO `startedAt`; absent when its
 * answer had none, a version from before it, or one that does not parse). As the instance's clock tells it. */
export interface InstanceStart {
  id: string;
  startedAt?: number;
}

/** An instance that answered not ready: its phase and its failing checks (their errors as sent: already scrubbed). */
export interface NotReadyInstance {
  instance: string;
  phase: string;
  failing: Array<{ check: string; error?: string }>;
}

/** An answer's failing checks (it comes over the wire: anything malformed is dropped). */
function failingChecksOf(a: HealthAnswer): NotReadyInstance['failing'] {
  const checks: unknown = a.checks;
  if (typeof checks !== 'object' || checks === null) return [];
  return Object.entries(checks as Record<string, { ok?: unknown; error?: unknown }>)
    .filter(([, c]) => c?.ok === false)
    .map(([check, c]) => (typeof c.error === 'string' ? { check, error: c.error } : { check }));
}

/** An answer's start time in epoch ms (it comes over the wire: a start that is not a date string is dropped). */
function startOf(a: HealthAnswer): InstanceStart {
  const started: unknown = a.startedAt;
  const ms = typeof started === 'string' ? Date.parse(started) : Number.NaN;
  return Number.isFinite(ms) ? { id: String(a.instance), startedAt: ms } : { id: String(a.instance) };
}

/** An answer's breakers as sent (it comes over the wire: anything malformed is dropped); undefined when it has none. */
function breakersOf(a: HealthAnswer): InstanceBreaker[] | undefined {
  if (!Array.isArray(a.breakers)) return undefined;
  return a.breakers
    .filter((b) => typeof b?.name === 'string' && (b.state === 'open' || b.state === 'half-open'))
    .map((b) => ({
      instance: a.instance,
      name: b.name,
      state: b.state,
      since: String(b.since),
      // an older instance's answer has no openSince: its `since` is the best there is
      openSince: String(b.openSince ?? b.since),
    }));
}

/** An answer's closed breakers not proven yet (it comes over the wire: anything malformed is dropped). */
function unprovenOf(a: HealthAnswer): NonNullable<ServiceReadiness['unprovenBreakers']> {
  if (!Array.isArray(a.breakersUnproven)) return [];
  return a.breakersUnproven
    .filter((b) => typeof b?.name === 'string')
    .map((b) => ({ instance: String(a.instance), name: b.name, since: String(b.since) }));
}

/**
 * Readiness of every instance of a Vigil service: asks `vigil.health.<name>.each` and gathers the answers that
 * arrive until none has come for a short while (or the timeout). Instances of a version without that subject are
 * asked through the queue endpoint instead (one answer). Also gathers the breakers that are not closed on the
 * instances that answered: that is what is open now, whatever older processes announced before they went away.
 * `opts.instances` adds `instanceStarts`, `notReady` and `unprovenBreakers` (left out otherwise, so the health pages
 * stay as they are).
 */
export async function serviceReadiness(
  nc: NatsConnection,
  service: string,
  timeoutMs = 1_000,
  opts: { instances?: boolean } = {},
): Promise<ServiceReadiness> {
  const answers: HealthAnswer[] = [];
  try {
    const replies = await nc.requestMany(eachSubject(service), undefined, {
      strategy: RequestStrategy.JitterTimer,
      maxWait: timeoutMs,
      jitter: Math.min(200, timeoutMs),
    });
    for await (const m of replies) {
      if (m.data.length > 0 && !m.headers?.hasError) answers.push(jc.decode(m.data) as HealthAnswer);
    }
  } catch {
    // no responders (or the connection is going away): fall back to the queue endpoint
  }
  if (answers.length === 0) {
    try {
      const m = await nc.request(`vigil.health.${service}`, undefined, { timeout: timeoutMs });
      answers.push(jc.decode(m.data) as HealthAnswer);
    } catch (err) {
      // nats.js says "503" (no responders) and "TIMEOUT": what they mean to an operator
      const code = errorCodeOf(err);
      const error =
        code === '503'
          ? 'not running (no instance answered)'
          : code === 'TIMEOUT'
            ? `no answer within ${timeoutMs} ms`
            : (err as Error).message || 'no answer';
      return {
        service,
        ready: false,
        instances: 0,
        error,
        ...(opts.instances ? { instanceStarts: [], notReady: [] } : {}),
      };
    }
  }
  const notReady = answers.filter((a) => a.ready !== true);
  const shown = notReady[0] ?? answers[0];
  const out: ServiceReadiness = {
    service,
    ready: notReady.length === 0,
    instances: answers.length,
    checks: shown.checks,
  };
  if (notReady.length > 0) {
    out.error = `${notReady.length} of ${answers.length} instance(s) not ready: ${notReady.map((a) => a.instance).join(', ')}`;
  }
  const openBreakers: InstanceBreaker[] = [];
  const breakersUnknown: string[] = [];
  for (const a of answers) {
    const breakers = breakersOf(a);
    if (breakers) openBreakers.push(...breakers);
    else breakersUnknown.push(a.instance);
  }
  if (openBreakers.length > 0) out.openBreakers = openBreakers;
  if (breakersUnknown.length > 0) out.breakersUnknown = breakersUnknown;
  if (opts.instances) {
    const unproven = answers.flatMap(unprovenOf);
    if (unproven.length > 0) out.unprovenBreakers = unproven;
    out.instanceStarts = answers.map(startOf);
    out.notReady = notReady.map((a) => ({
      instance: String(a.instance),
      phase: String(a.phase ?? 'unknown'),
      failing: failingChecksOf(a),
    }));
  }
  return out;
}
