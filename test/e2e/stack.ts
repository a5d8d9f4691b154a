import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectNats, createLogger } from '@vigil/shared';
import {
  type CapturedMail,
  collectEvents,
  type EventCollector,
  freePort,
  type SmtpSink,
  startNats,
  startRedis,
  startSmtpSink,
  type TestServer,
  waitFor,
} from '@vigil/shared/testing';

type NatsConnection = Awaited<ReturnType<typeof connectNats>>;

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ServiceName = 'scheduler' | 'reports' | 'notifier' | 'secrets' | 'webhooks';
export const ALL_SERVICES: ServiceName[] = ['secrets', 'webhooks', 'notifier', 'reports', 'scheduler'];

interface Running {
  name: ServiceName;
  child: ChildProcess;
  port: number;
  logs: string[];
  exited: Promise<void>;
}

export interface StackOptions {
  /** The jobs file; a function sees the stack with every service's port already chosen (for URLs). */
  jobsYaml: string | ((stack: Stack) => string);
  services?: ServiceName[];
  env?: Record<string, string>;
  /** Per-service extra env. */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Children must not outlive a test worker that dies before its afterAll.
const everyChild = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of everyChild) if (c.exitCode === null) c.kill('SIGKILL');
});

/**
 * The whole system as `npm start` runs it: real nats-server, redis-server and an SMTP sink from the test kit,
 * and every service as a child process from its built dist/main.js.
 */
export class Stack {
  readonly token = 'e2e-token';
  nats!: TestServer;
  redis!: TestServer;
  sink!: SmtpSink;
  nc!: NatsConnection;
  /** Every event on the bus from the moment the stack is up (core NATS, sees JetStream publishes too). */
  events!: EventCollector;
  dir = mkdtempSync(path.join(tmpdir(), 'vigil-e2e-'));
  jobsFile = path.join(this.dir, 'jobs.yaml');
  private running = new Map<string, Running>();
  private ports = new Map<string, number>();
  env: Record<string, string> = {};

  constructor(private readonly opts: StackOptions) {}

  async up(): Promise<this> {
    [this.nats, this.redis, this.sink] = await Promise.all([
      startNats({ jetstream: true }),
      startRedis(),
      startSmtpSink(),
    ]);
    for (const name of ALL_SERVICES) if (!this.ports.has(name)) this.ports.set(name, await freePort());
    const jobs = this.opts.jobsYaml;
    writeFileSync(this.jobsFile, typeof jobs === 'string' ? jobs : jobs(this));
    this.env = {
      NATS_URL: this.nats.url,
      REDIS_URL: this.redis.url,
      SMTP_URL: this.sink.url,
      VIGIL_JOBS_FILE: this.jobsFile,
      VIGIL_API_TOKEN: this.token,
      ADMIN_EMAIL: 'ops@example.com',
      WEBHOOKS_ALLOW_PRIVATE: 'true',
      LOG_LEVEL: 'info',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      SECRETS_PROVIDER: 'file',
      SECRETS_FILE: path.join(this.dir, 'secrets.json'),
      // links and curl lines in emails point at this stack's scheduler
      VIGIL_PUBLIC_URL: this.url('scheduler'),
      ...this.opts.env,
    };
    if (!this.opts.env?.SECRETS_FILE) writeFileSync(this.env.SECRETS_FILE, '{}');
    this.nc = await connectNats({
      servers: this.nats.url,
      name: 'e2e-test',
      logger: createLogger({ service: 'e2e', level: 'warn' }),
    });
    this.events = collectEvents(this.nc, '>');
    // Streams are created concurrently-safe by every service; start them side by side like a compose stack.
    await Promise.all((this.opts.services ?? ALL_SERVICES).map((name) => this.start(name)));
    return this;
  }

  url(name: ServiceName | string): string {
    return `http://127.0.0.1:${this.ports.get(name)}`;
  }

  logs(instance: ServiceName | string): string {
    return this.running.get(instance)?.logs.join('') ?? '';
  }

  /** Log lines (parsed JSON) of one instance, for assertions and failure reports. */
  logLines(instance: ServiceName | string): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.logs(instance).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a partial line at the end of a chunk
      }
    }
    return out;
  }

  isRunning(instance: string): boolean {
    const r = this.running.get(instance);
    return !!r && r.child.exitCode === null && r.child.signalCode === null;
  }

  instances(name?: ServiceName): string[] {
    return [...this.running.entries()].filter(([, r]) => !name || r.name === name).map(([k]) => k);
  }

  pid(instance: string): number | undefined {
    return this.running.get(instance)?.child.pid;
  }

  async start(name: ServiceName, instance: string = name, extraEnv: Record<string, string> = {}): Promise<void> {
    let port = this.ports.get(instance);
    if (!port) {
      port = await freePort();
      this.ports.set(instance, port);
    }
    const logs: string[] = [];
    const child = spawn(process.execPath, [path.join(repoRoot, 'services', name, 'dist', 'main.js')], {
      cwd: path.join(repoRoot, 'services', name),
      env: {
        ...process.env,
        ...this.env,
        ...this.opts.serviceEnv?.[name],
        ...extraEnv,
        HTTP_PORT: String(port),
        OTEL_SERVICE_NAME: `vigil-${name}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    everyChild.add(child);
    child.stdout?.on('data', (b: Buffer) => logs.push(b.toString()));
    child.stderr?.on('data', (b: Buffer) => logs.push(b.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.running.set(instance, { name, child, port, logs, exited });
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${instance} exited:\n${logs.join('').slice(-3000)}`);
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
        return res.ok;
      },
      { timeout: 30_000, message: `${instance} ready` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- ${instance} log ---\n${logs.join('').slice(-3000)}`);
    });
  }

  async stop(instance: string): Promise<void> {
    const r = this.running.get(instance);
    if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return;
    r.child.kill('SIGTERM');
    const t = setTimeout(() => r.child.kill('SIGKILL'), 25_000);
    await r.exited;
    clearTimeout(t);
  }

  /** kill -9: no shutdown hooks, no drain, in-flight work left unacknowledged. */
  async kill(instance: string): Promise<void> {
    const r = this.running.get(instance);
    if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return;
    r.child.kill('SIGKILL');
    await r.exited;
  }

  /** Runs the vigil CLI against this stack's NATS. */
  cli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(repoRoot, 'packages', 'cli', 'bin', 'vigil.mjs'), ...args], {
        env: { ...process.env, NATS_URL: this.nats.url, VIGIL_API_TOKEN: this.token, NO_COLOR: '1', ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (b: Buffer) => {
        stdout += b.toString();
      });
      child.stderr?.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      child.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }

  /** A service's HTTP API, by service name or instance name (e.g. `scheduler-1`). */
  async api(
    name: ServiceName | string,
    method: string,
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: any; text: string }> {
    const res = await fetch(`${this.url(name)}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  }

  /** The first mail matching `match`, waiting for it. */
  mail(match: (m: CapturedMail) => boolean, timeoutMs = 15_000, what = 'matching mail'): Promise<CapturedMail> {
    return waitFor(() => this.sink.messages.find(match), {
      timeout: timeoutMs,
      message: `${what}; inbox: ${JSON.stringify(this.sink.messages.map((m) => m.subject))}`,
    });
  }

  mails(match: (m: CapturedMail) => boolean): CapturedMail[] {
    return this.sink.messages.filter(match);
  }

  /** Last lines of every service's log, for a failing test's message. */
  tail(lines = 30): string {
    return [...this.running.keys()]
      .map((k) => `--- ${k} ---\n${this.logs(k).split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  async down(): Promise<void> {
    // E2E_MAIL_DUMP=<dir>: keep every captured email as text, to read what a human would get.
    const dump = process.env.E2E_MAIL_DUMP;
    if (dump) {
      mkdirSync(dump, { recursive: true });
      for (const [i, m] of (this.sink?.messages ?? []).entries()) {
        writeFileSync(path.join(dump, `${path.basename(this.dir)}-${i}.txt`), `Subject: ${m.subject}\n\n${m.text}`);
      }
    }
    await Promise.all([...this.running.keys()].map((k) => this.stop(k)));
    this.events?.stop();
    await this.nc?.close().catch(() => {});
    await this.sink?.stop();
    await this.redis?.stop();
    await this.nats?.stop();
  }
}

/** A 6-field cron (UTC) that fires once, at the whole second `msFromNow` from now (rounded up). */
export function cronOnceIn(msFromNow: number): { cron: string; at: number } {
  const at = Math.ceil((Date.now() + msFromNow) / 1000) * 1000;
  const d = new Date(at);
  return {
    cron: `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`,
    at,
  };
}
