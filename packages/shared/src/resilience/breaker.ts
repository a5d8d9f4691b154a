import CircuitBreaker from 'opossum';
import type { Registry } from 'prom-client';
import { classify, ErrorCode, TransientError, toErrorInfo } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { scrubSecrets } from '../log/secret-values.js';
import { vigilMetrics } from '../metrics/index.js';

type BreakerState = 'closed' | 'open' | 'half-open';

/** Anything that can publish an event (the EventBus); typed structurally so breakers need no NATS import. */
export interface EventPublisher {
  publish(subject: string, data: Record<string, unknown>): Promise<unknown> | unknown;
}

export interface BreakerOptions {
  /** Used in events and metrics. */
  service: string;
  /**
   * The service instance (runService's `rt.instance`) put in the breaker's events: every replica has its own breaker,
   * and a reader must tell one replica's close from another's still-open breaker. Default: the instance whose
   * `registry` this is (runService makes one per instance); none without either.
   */
  instance?: string;
  bus?: EventPublisher;
  registry?: Registry;
  /** Consecutive counted failures that open the breaker. Default 5. */
  failureThreshold?: number;
  /** How long it stays open before letting one probe through. Default 30 s. */
  resetTimeoutMs?: number;
  /** Per-call timeout (counts as a failure). Default false (none). */
  timeoutMs?: number | false;
  /** Which errors count towards opening. Default: everything but validation and permanent errors. */
  isFailure?: (err: unknown) => boolean;
  /**
   * Names the error that opened the breaker in its events (`error.type`, `error.message`). Default: the thrown
   * error itself, whose class is often a wrapper (`TransientError`) and whose message is one particular call's
   * (`… for secret "x"`): a service that knows its dependency's error names says what the dependency said.
   */
  describe?: (err: unknown) => { type: string; message: string };
  logger?: Logger;
}

export interface Breaker<A extends unknown[], R> {
  fire(...args: A): Promise<R>;
  readonly state: BreakerState;
  /** A call has succeeded through it since it was created (see UnprovenBreakerStatus). */
  readonly proven: boolean;
  readonly name: string;
  on(event: 'open' | 'halfOpen' | 'close', fn: () => void): void;
  shutdown(): void;
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };
const VERB: Record<BreakerState, 'opened' | 'half-open' | 'closed'> = {
  open: 'opened',
  'half-open': 'half-open',
  closed: 'closed',
};

/** A breaker that is not closed, as its service instance's health answer lists it. */
export interface BreakerStatus {
  name: string;
  state: 'open' | 'half-open';
  /** When it entered that state (ISO time). */
  since: string;
  /** When it last left `closed` (ISO time): its re-opens after failed half-open probes do not move this. */
  openSince: string;
}

/**
 * A closed breaker that has not let a call through successfully since it was created (its instance started, or
 * created it later): closed only because nothing has been tried yet, or because fewer failures than its threshold
 * came. Its dependency may well still be down (an instance restarted during an outage starts with a closed breaker),
 * so it says nothing about whether an opening elsewhere has ended. A breaker is proven by its first success (a call
 * that returned, or failed with an error that does not count: the dependency answered), which is also the only way a
 * breaker that opened closes again; it stays proven.
 */
export interface UnprovenBreakerStatus {
  name: string;
  state: 'closed';
  proven: false;
  /** When it was created (ISO time). */
  since: string;
}

/** What `breakersNotClosed` lists: a breaker open or half-open, or one closed but not proven yet. */
export type ListedBreaker = BreakerStatus | UnprovenBreakerStatus;

interface TrackedBreaker {
  name: string;
  state(): BreakerState;
  since: number;
  openSince: number;
  /** It has had a success since it was created. */
  proven: boolean;
}

// The breakers of each service instance, keyed by its metrics registry (runService makes one per instance, and tests
// run several instances in one process). Health answers list them, so health shows the breakers of the processes
// alive now rather than the last event of a process that has since been replaced.
const trackedByRegistry = new WeakMap<Registry, Set<TrackedBreaker>>();

// Every service already hands its breakers rt.registry; knowing the instance from it saves threading the id through
// each service's options (and a breaker a service forgets to tell still names its instance).
const instanceByRegistry = new WeakMap<Registry, string>();

/** runService: the breakers created with `registry` belong to the service instance `instance`. */
export function setRegistryInstance(registry: Registry, instance: string): void {
  instanceByRegistry.set(registry, instance);
}

/**
 * The breakers created with `registry` that are not closed right now, and those closed but not proven yet
 * (`proven: false`: no call has succeeded through them since they were created); breakers without a registry are
 * not known. Health answers list the two apart (health-endpoint.ts).
 */
export function breakersNotClosed(registry: Registry): ListedBreaker[] {
  const out: ListedBreaker[] = [];
  for (const b of trackedByRegistry.get(registry) ?? []) {
    const state = b.state();
    if (state !== 'closed')
      out.push({
        name: b.name,
        state,
        since: new Date(b.since).toISOString(),
        openSince: new Date(b.openSince).toISOString(),
      });
    else if (!b.proven) out.push({ name: b.name, state, proven: false, since: new Date(b.since).toISOString() });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function defaultIsFailure(err: unknown): boolean {
  const c = classify(err);
  return c !== 'validation' && c !== 'permanent';
}

/** The `error` of a breaker event: the contract's error object (no stack), named by `describe` when given. */
function eventError(
  err: unknown,
  describe: BreakerOptions['describe'],
  log: Logger | undefined,
): Record<string, unknown> {
  const { stack: _stack, ...info } = toErrorInfo(err);
  if (!describe) return info;
  try {
    const { type, message } = describe(err);
    // Events leave the process (e-mails, chat): scrubbed like toErrorInfo's own message.
    return { ...info, type, message: scrubSecrets(message) };
  } catch (e) {
    // A broken description must not cost the event: the plain error still says something.
    log?.warn({ err: e }, 'breaker error description failed');
    return info;
  }
}

/** Subject tokens cannot hold dots, spaces or wildcards. */
function token(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * A circuit breaker around `fn` (opossum underneath). Opens after `failureThreshold` CONSECUTIVE counted
 * failures, rejects fast with TransientError VIGIL_E_BREAKER_OPEN while open, lets a single probe through
 * after `resetTimeoutMs`, closes when it succeeds. Every transition is logged, set on vigil_breaker_state
 * and published as breaker.<opened|half-open|closed>.<service>.<name>.
 */
export function createBreaker<A extends unknown[], R>(
  name: string,
  fn: (...args: A) => Promise<R>,
  opts: BreakerOptions,
): Breaker<A, R> {
  const threshold = opts.failureThreshold ?? 5;
  const resetTimeoutMs = opts.resetTimeoutMs ?? 30_000;
  const isFailure = opts.isFailure ?? defaultIsFailure;
  const log = opts.logger?.child({ breaker: name });
  const gauge = opts.registry ? vigilMetrics(opts.registry).breakerState : undefined;
  const instance = opts.instance ?? (opts.registry ? instanceByRegistry.get(opts.registry) : undefined);

  const cb = new CircuitBreaker<A, R>(fn, {
    name,
    timeout: opts.timeoutMs ?? false,
    resetTimeout: resetTimeoutMs,
    // Opossum's own error-rate rule is switched off: we open on consecutive failures (below). It still
    // re-opens on a failed half-open probe, which is what we want.
    volumeThreshold: Number.MAX_SAFE_INTEGER,
    errorThresholdPercentage: 100,
    errorFilter: (err: unknown) => !isFailure(err),
  });

  let consecutive = 0;
  let lastError: unknown;
  let openedAt = 0;
  const state = (): BreakerState => (cb.opened ? 'open' : cb.halfOpen ? 'half-open' : 'closed');
  const tracked: TrackedBreaker = { name, state, since: Date.now(), openSince: Date.now(), proven: false };
  if (opts.registry) {
    const set = trackedByRegistry.get(opts.registry) ?? new Set<TrackedBreaker>();
    trackedByRegistry.set(opts.registry, set.add(tracked));
  }

  let previous: BreakerState = 'closed';
  const transition = (s: BreakerState) => {
    tracked.since = Date.now();
    if (previous === 'closed' && s !== 'closed') tracked.openSince = tracked.since;
    previous = s;
    gauge?.set({ service: opts.service, name }, STATE_VALUE[s]);
    const failures = consecutive;
    // `service` and `breaker` are the logger's own bindings already: a second copy makes duplicate JSON keys
    const fields = { state: s, failures };
    if (s === 'open') log?.warn({ ...fields, err: lastError }, `breaker ${name} opened`);
    else log?.info(fields, `breaker ${name} ${s}`);
    if (!opts.bus) return;
    const data: Record<string, unknown> = {
      service: opts.service,
      name,
      ...(instance ? { instance } : {}),
      state: s,
      at: new Date().toISOString(),
      failures,
    };
    if (s === 'open' && lastError !== undefined) data.error = eventError(lastError, opts.describe, log);
    const subject = `breaker.${VERB[s]}.${token(opts.service)}.${token(name)}`;
    void Promise.resolve()
      .then(() => opts.bus?.publish(subject, data))
      .catch((err: unknown) => log?.warn({ err, subject }, 'breaker event not published'));
  };

  gauge?.set({ service: opts.service, name }, 0);
  cb.on('success', () => {
    consecutive = 0;
    // opossum emits success for a call that returned and for one whose error does not count (the dependency
    // answered): either proves the breaker, as either closes a half-open one
    tracked.proven = true;
  });
  cb.on('failure', (err: unknown) => {
    lastError = err;
    consecutive++;
    if (consecutive >= threshold && cb.closed) cb.open();
  });
  cb.on('open', () => {
    openedAt = Date.now();
    transition('open');
  });
  cb.on('halfOpen', () => transition('half-open'));
  cb.on('close', () => {
    consecutive = 0;
    transition('closed');
  });

  return {
    name,
    get state() {
      return state();
    },
    get proven() {
      return tracked.proven;
    },
    async fire(...args: A): Promise<R> {
      try {
        return await cb.fire(...args);
      } catch (err) {
        if ((err as { code?: unknown })?.code === 'EOPENBREAKER') {
          throw new TransientError(`breaker ${name} is open`, {
            code: ErrorCode.BREAKER_OPEN,
            cause: lastError,
            retryAfterMs: Math.max(0, openedAt + resetTimeoutMs - Date.now()),
            details: { breaker: name, service: opts.service },
          });
        }
        throw err;
      }
    },
    on(event, listener) {
      if (event === 'open') cb.on('open', listener);
      else if (event === 'halfOpen') cb.on('halfOpen', listener);
      else cb.on('close', listener);
    },
    shutdown() {
      cb.shutdown();
      if (opts.registry) trackedByRegistry.get(opts.registry)?.delete(tracked);
    },
  };
}
