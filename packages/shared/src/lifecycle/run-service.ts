import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageVersion } from './package-version.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { NatsConnection, Service } from 'nats';
import type { z } from 'zod';
import { baseEnvSchema, buildCommit, EXIT_CONFIG, httpPortSchema, loadConfig } from '../config/index.js';
import { ErrorCode, TransientError, VigilError } from '../errors/index.js';
import { ensureStreams, EventBus, setStorageReplicas } from '../events/index.js';
import { createHttpApp, createReadiness } from '../http/index.js';
import { createLogger, registerSecretValue } from '../log/index.js';
import { createRegistry, dependencyGauge, vigilMetrics } from '../metrics/index.js';
import { connectNats, natsCheck } from '../nats/index.js';
import { systemClock } from '../time/index.js';
import { breakersNotClosed, setRegistryInstance } from '../resilience/breaker.js';
import { initTracing, type TracingHandle } from '../tracing/index.js';
import { registerNatsService } from './health-endpoint.js';
import { listenWhileStarting } from './starting-http.js';
import { installSignalHandlers } from './signals.js';
import { withTimeout } from './with-timeout.js';
import type { RunServiceOptions, Runtime, ServiceConfig, ServiceHandle } from './types.js';

/** The service's schema on top of the base variables, with HTTP_PORT defaulting to the service's port. */
function fullSchema(schema: z.ZodObject, defaultPort: number): z.ZodObject {
  const merged = baseEnvSchema.extend(schema.shape);
  return 'HTTP_PORT' in merged.shape ? merged : merged.extend({ HTTP_PORT: httpPortSchema(defaultPort) });
}

/**
 * Runs a Vigil service: config → tracing → NATS (waited for, untimed, the port answering health meanwhile) →
 * streams → NATS micro-service → start() → HTTP listen → warm-up → ready, each phase logged and all after NATS
 * bounded by a start-up timeout. SIGTERM/SIGINT (or stop())
 * turn readiness 503, drain consumers, run shutdown hooks in reverse, drain NATS, close HTTP, then exit 0.
 */
export async function runService<S extends z.ZodObject>(
  opts: RunServiceOptions<S>,
): Promise<ServiceHandle<ServiceConfig<S>>> {
  const { name } = opts;
  const startedAt = instanceStartedAt();
  const handleSignals = opts.handleSignals ?? true;
  // Without an explicit version, the package of the entry script (node services/x/dist/main.js) tells it.
  const entry = process.argv[1];
  const version =
    opts.version ?? (entry?.endsWith(`${path.sep}main.js`) ? packageVersion(pathToFileURL(entry).href) : '0.0.0');
  const clock = opts.clock ?? systemClock;
  const config = loadConfig(fullSchema(opts.configSchema, opts.defaultPort), opts.env, {
    exit: handleSignals,
  }) as ServiceConfig<S>;

  const log = createLogger({ service: name, version, level: config.LOG_LEVEL, destination: opts.logDestination });
  registerSecretValue(config.NATS_PASSWORD);
  const phase = (message: string) => log.info({ phase: true }, message);
  phase('config ok');

  const instance = `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const registry = createRegistry();
  vigilMetrics(registry);
  setRegistryInstance(registry, instance);
  const readiness = createReadiness();
  dependencyGauge(registry, readiness);
  const httpOptions = {
    service: name,
    instance,
    version,
    commit: opts.commit ?? buildCommit(opts.env),
    logger: log,
    registry,
    readiness,
  };
  const http = createHttpApp(httpOptions);
  const hooks: Array<() => Promise<void> | void> = [];
  const abort = new AbortController();
  const held: {
    nc?: NatsConnection;
    natsService?: Service;
    bus?: EventBus;
    tracing?: TracingHandle;
    standIn?: { close(): Promise<void> };
  } = {};
  let url = '';
  let rt: Runtime<ServiceConfig<S>> | undefined;

  const step = <T>(p: Promise<T>): Promise<T> =>
    p.then((v) => {
      if (abort.signal.aborted) throw abort.signal.reason;
      return v;
    });

  const guard = async (what: string, fn: () => Promise<unknown> | unknown) => {
    try {
      await fn();
    } catch (err) {
      log.warn({ err, step: what }, `shutdown step failed: ${what}`);
    }
  };

  let stopping: Promise<boolean> | undefined;
  const shutdown = (): Promise<boolean> => {
    if (stopping) return stopping;
    readiness.phase = 'stopping';
    abort.abort(new TransientError(`${name} is shutting down`, { code: ErrorCode.SHUTTING_DOWN }));
    phase('stopping');
    const work = async () => {
      const { nc, bus, natsService, tracing } = held;
      if (bus && url) {
        await guard('announce', () =>
          withTimeout(bus.publish('service.stopping', { service: name, instance, version, at: iso() }), 1_000),
        );
      }
      if (bus) await guard('drain consumers', () => bus.drain());
      for (const fn of [...hooks].reverse()) await guard('shutdown hook', fn);
      if (natsService) await guard('nats service stop', () => natsService.stop());
      if (nc && !nc.isClosed()) {
        // drain() needs the server; when it is gone, close instead of waiting for the overall timeout.
        await guard('nats drain', () => withTimeout(nc.drain(), 5_000).catch(() => nc.close()));
      }
      if (held.standIn) await guard('http close', () => held.standIn?.close());
      await guard('http close', () => http.close());
      if (tracing) await guard('tracing shutdown', () => tracing.shutdown());
    };
    const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 20_000;
    stopping = withTimeout(work(), shutdownTimeoutMs, clock).then(
      () => {
        phase('stopped');
        return true;
      },
      async () => {
        log.error({ shutdownTimeoutMs }, 'shutdown timed out; closing connections');
        await held.nc?.close().catch(() => {});
        return false;
      },
    );
    return stopping;
  };

  const uninstallSignals = handleSignals ? installSignalHandlers({ log, shutdown }) : () => {};

  /** Until NATS answers: health on the port (a fixed one), a warning every 30 s, and nothing timed. */
  const waitForNats = async (): Promise<NatsConnection> => {
    if (opts.preflight) await opts.preflight(config);
    if (config.OTEL_EXPORTER_OTLP_ENDPOINT) {
      held.tracing = initTracing(config.OTEL_SERVICE_NAME ?? `vigil-${name}`, {
        endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
        instance,
      });
      phase('tracing on');
    }
    const since = new Date(clock.now()).toISOString();
    const waiting = `waiting for NATS at ${config.NATS_URL} since ${since}`;
    readiness.addCheck('nats', () => {
      throw new TransientError(`not connected yet: ${waiting}`, { code: ErrorCode.NATS_UNAVAILABLE });
    });
    if (config.HTTP_PORT !== 0) {
      const standIn = await listenWhileStarting({ ...httpOptions, host: config.HTTP_HOST, port: config.HTTP_PORT });
      // stopped while it was binding: shutdown has run already and would not close it
      if (abort.signal.aborted) {
        await standIn.close();
        throw abort.signal.reason;
      }
      held.standIn = standIn;
    }
    const connecting = connectNats({
      servers: config.NATS_URL,
      creds: config.NATS_CREDS,
      user: config.NATS_USER,
      password: config.NATS_PASSWORD,
      name: `vigil-${name}`,
      logger: log,
    });
    // If start-up is abandoned while NATS is still unreachable, close the connection when it finally comes.
    void connecting.then((nc) => (abort.signal.aborted && !held.nc ? nc.close() : undefined)).catch(() => {});
    const nagger = setInterval(
      () => log.warn({ natsUrl: config.NATS_URL, since }, `still ${waiting}; /health/ready answers 503 meanwhile`),
      30_000,
    );
    nagger.unref();
    try {
      return await Promise.race([step(connecting), aborted(abort.signal)]);
    } finally {
      clearInterval(nagger);
    }
  };

  const startup = async (nc: NatsConnection) => {
    held.nc = nc;
    readiness.addCheck('nats', () => natsCheck(nc));
    const jsm = await step(nc.jetstreamManager());
    const js = nc.jetstream();
    setStorageReplicas(config.NATS_REPLICAS);
    if (opts.streams !== false) {
      await step(ensureStreams(jsm, opts.streams || {}));
      phase('streams ready');
    }
    const bus = new EventBus(nc, { service: name, logger: log, registry });
    held.bus = bus;
    // The instance's breakers are those created with its registry (every service passes rt.registry).
    const breakers = () => breakersNotClosed(registry);
    const natsService = await step(
      registerNatsService(nc, { name, instance, version, readiness, log, breakers, startedAt }),
    );
    held.natsService = natsService;
    phase(`nats service vigil-${name} registered (vigil.health.${name})`);

    rt = {
      name,
      instance,
      version,
      config,
      log,
      nc,
      js,
      jsm,
      bus,
      http,
      registry,
      natsService,
      clock,
      addCheck: (checkName, fn) => readiness.addCheck(checkName, fn),
      onShutdown: (fn) => void hooks.push(fn),
      phase,
      signal: abort.signal,
    };
    await step(opts.start(rt));
    if (held.standIn) {
      await held.standIn.close();
      held.standIn = undefined;
    }
    // stopped (timeout, SIGTERM) while the stand-in closed: a server listening now would outlive the shutdown
    if (abort.signal.aborted) throw abort.signal.reason;
    await step(http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT }));
    const port = (http.server.address() as AddressInfo).port;
    url = `http://${config.HTTP_HOST.includes(':') ? `[${config.HTTP_HOST}]` : config.HTTP_HOST}:${port}`;
    phase(`listening on ${url}`);
    if (opts.warmUp) {
      await step(opts.warmUp(rt));
      phase('warm-up done');
    }
    readiness.phase = 'running';
    phase('ready');
    if (opts.streams !== false) {
      bus.publish('service.started', { service: name, instance, version, at: iso() }).catch((err: unknown) => {
        log.warn({ err }, 'service.started not published');
      });
    }
  };

  // The wait for NATS is not timed: a broker that comes late (a fresh cluster, an outage) is waited for with the
  // port answering health, rather than restarted into a crash loop. What follows it is.
  const startupTimeoutMs = opts.startupTimeoutMs ?? 30_000;
  try {
    const nc = await waitForNats();
    await withTimeout(startup(nc), startupTimeoutMs, clock, () => {
      abort.abort(
        new TransientError(`${name} did not start within ${startupTimeoutMs}ms of reaching NATS`, {
          code: ErrorCode.TIMEOUT,
        }),
      );
    });
  } catch (err) {
    const interrupted = stopping !== undefined;
    const reason: unknown = abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason : err;
    if (!interrupted) log.fatal({ err: reason, startupTimeoutMs }, 'start-up failed');
    await shutdown();
    uninstallSignals();
    // A configuration mistake (a missing or invalid jobs file) exits like a bad variable: 78, EX_CONFIG, so a
    // supervisor can tell "fix the config" from "try again".
    const configProblem =
      reason instanceof VigilError && (reason.code === ErrorCode.CONFIG || reason.code === ErrorCode.JOBS_FILE_INVALID);
    if (handleSignals) process.exit(interrupted ? 0 : configProblem ? EXIT_CONFIG : 1);
    throw reason;
  }

  const runtime = rt as Runtime<ServiceConfig<S>>;
  return {
    url,
    config,
    runtime,
    get ready() {
      return readiness.phase === 'running';
    },
    async stop() {
      await shutdown();
      uninstallSignals();
    },
  };
}

let processHasInstance = false;

/**
 * When this instance started (epoch ms, wall clock), as its health answers say (`startedAt`): the start of the
 * process, since a service runs one instance per process (so the time to load its modules counts, and start-up
 * counts however long NATS took). A further instance in the same process (tests run several) starts now.
 */
function instanceStartedAt(): number {
  const now = Date.now();
  if (processHasInstance) return now;
  processHasInstance = true;
  return Math.round(now - process.uptime() * 1_000);
}

/** Rejects with the signal's reason once it aborts (shutdown while waiting). */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function iso(): string {
  return new Date().toISOString();
}
