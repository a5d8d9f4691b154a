import type { FastifyInstance } from 'fastify';
import type { JetStreamClient, JetStreamManager, NatsConnection, Service } from 'nats';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { BaseEnv } from '../config/index.js';
import type { EnsureStreamsOptions, EventBus } from '../events/index.js';
import type { CheckFn } from '../http/index.js';
import type { Logger } from '../log/index.js';
import type { Clock } from '../time/index.js';

/** The parsed environment: the service's schema plus the base variables and HTTP_PORT. */
export type ServiceConfig<S extends z.ZodObject> = z.infer<S> & BaseEnv & { HTTP_PORT: number };

/** What a service's start() gets: every connection and registry, already up. */
export interface Runtime<C> {
  name: string;
  /** Unique per process (hostname-pid-random): tells replicas apart in health answers and logs. */
  instance: string;
  version: string;
  config: C;
  log: Logger;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  bus: EventBus;
  http: FastifyInstance;
  registry: Registry;
  /** The NATS micro-service `vigil-<name>`; add request/reply endpoints to it (e.g. secrets.get). */
  natsService: Service;
  clock: Clock;
  /** A readiness check: resolves when healthy, throws with the reason otherwise. */
  addCheck(name: string, fn: CheckFn): void;
  /** Runs at shutdown after consumers drained, in reverse order of registration. */
  onShutdown(fn: () => Promise<void> | void): void;
  /** Logs a start-up phase (`phase: true` so phases can be grepped). */
  phase(message: string): void;
  /** Aborted when shutdown begins: long loops and timers stop on it. */
  signal: AbortSignal;
}

export interface RunServiceOptions<S extends z.ZodObject> {
  /** Service name: scheduler, reports, notifier, secrets, webhooks. */
  name: string;
  version?: string;
  /** The service's env schema (usually baseEnvSchema.extend({...}) from its config.ts). */
  configSchema: S;
  /** Tests pass env here; main passes nothing (process.env). */
  env?: Record<string, string | undefined>;
  /** HTTP_PORT default when the schema does not define HTTP_PORT itself. */
  defaultPort: number;
  /**
   * Checks that need no connection (a jobs file that must exist and parse), run before NATS is dialled: a
   * configuration mistake is reported at once (exit 78 for a CONFIG or JOBS_FILE_INVALID error), not after a
   * start-up timeout while NATS is also unreachable.
   */
  preflight?: (config: ServiceConfig<S>) => Promise<void>;
  /** Register routes, consumers, timers. Throw to abort start-up. Routes must be added here. */
  start: (rt: Runtime<ServiceConfig<S>>) => Promise<void>;
  /**
   * Optional work after the HTTP server listens and before the service reports ready (warming caches):
   * /health/live answers, /health/ready says 503 `starting` meanwhile.
   */
  warmUp?: (rt: Runtime<ServiceConfig<S>>) => Promise<void>;
  /** Default 30 s: a start-up that hangs (unreachable NATS) fails instead of waiting forever. */
  startupTimeoutMs?: number;
  /** Default 20 s: bound on the whole graceful shutdown. */
  shutdownTimeoutMs?: number;
  /** true (main): SIGTERM/SIGINT stop the service and exit; config errors exit 78. false in tests. */
  handleSignals?: boolean;
  /** Which streams to ensure (default all of the contract's); false to skip (tools). */
  streams?: EnsureStreamsOptions | false;
  clock?: Clock;
  /** Where log lines go (tests capture them); default stdout. */
  logDestination?: pino.DestinationStream;
  /** Commit for /version; default VIGIL_COMMIT / GIT_COMMIT from env. */
  commit?: string;
}

export interface ServiceHandle<C = unknown> {
  /** http://host:port the service listens on. */
  url: string;
  readonly ready: boolean;
  config: C;
  runtime: Runtime<C>;
  /** Graceful stop without exiting the process (tests); same sequence as SIGTERM. */
  stop(): Promise<void>;
}
