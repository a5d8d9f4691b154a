// The deploy check an operator runs after every release, against the real services laid out as in the image:
// deploy/assemble-runtime.sh builds the pruned production tree (what deploy/Dockerfile copies), and each service
// starts through the image's entrypoint (VIGIL_SERVICE -> services/<name>/dist/main.js) with real NATS, Redis and
// an SMTP sink. So a runtime import of a devDependency, or a broken entrypoint, fails here and not in production.
// Healthy: every check passes. One service stopped: that one is reported and the exit code is 1.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  freePort,
  type HttpReceiver,
  type SmtpSink,
  startNats,
  startRedis,
  startHttpReceiver,
  startSmtpSink,
  type TestServer,
  waitFor,
  BUILD_LOCK,
} from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployDir, readText, root, run, which } from './deploy-files.js';

const execFileP = promisify(execFile);
const SERVICES = ['scheduler', 'reports', 'notifier', 'secrets', 'webhooks'] as const;
type ServiceName = (typeof SERVICES)[number];
const TOKEN = 'verify-deploy-test-token-0123456789';
const VERSION = (JSON.parse(readText(path.join(root, 'services', 'scheduler', 'package.json'))) as { version: string })
  .version;

interface Running {
  name: ServiceName;
  url: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

let nats: TestServer;
let redis: TestServer;
let smtp: SmtpSink;
/** Stands in for Jaeger's OTLP/HTTP port (compose: OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318). */
let otlp: HttpReceiver;
let workDir: string;
/** Where the services run from: the assembled image tree (or the repository when pnpm is missing). */
let appDir = root;
const running: Running[] = [];

/** Starts one service exactly as the container does, and waits until it is ready. */
async function startService(name: ServiceName, extraEnv: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    VIGIL_SERVICE: name,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(port),
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    SMTP_URL: smtp.url,
    ADMIN_EMAIL: 'ops@example.com',
    VIGIL_API_TOKEN: TOKEN,
    VIGIL_JOBS_FILE: path.join(workDir, 'jobs.yaml'),
    VIGIL_JOBS_WATCH: 'false',
    SECRETS_PROVIDER: 'file',
    SECRETS_FILE: path.join(workDir, 'secrets.json'),
    VIGIL_COMMIT: 'verify-deploy-test',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_SERVICE_NAME: `vigil-${name}`,
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  for (const [k, v] of Object.entries(env)) if (v === '') delete env[k];
  const child = spawn('sh', [path.join(appDir, 'deploy', 'docker-entrypoint.sh')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const svc: Running = { name, url: `http://127.0.0.1:${port}`, child, output: () => out, exited };
  running.push(svc);
  const died = exited.then((code) => {
    throw new Error(`${name} exited (code ${code}) during start-up:\n${out}`);
  });
  const ready = waitFor(
    async () => {
      const res = await fetch(`${svc.url}/health/ready`, { signal: AbortSignal.timeout(1000) });
      return res.status === 200;
    },
    { timeout: 30_000, interval: 100, message: `${name} ready on ${svc.url}` },
  );
  died.catch(() => {});
  await Promise.race([ready, died]).catch((err: Error) => {
    throw new Error(`${err.message}\n--- ${name} output ---\n${out}`);
  });
  return svc;
}

async function stopService(svc: Running): Promise<void> {
  if (svc.child.exitCode !== null || svc.child.signalCode !== null) return;
  svc.child.kill('SIGTERM');
  const timer = setTimeout(() => svc.child.kill('SIGKILL'), 25_000);
  await svc.exited;
  clearTimeout(timer);
}

interface VerifyResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function verifyDeploy(args: string[]): Promise<VerifyResult> {
  try {
    const r = await execFileP(process.execPath, [path.join(root, 'scripts', 'verify-deploy.mjs'), ...args], {
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

interface Row {
  url: string;
  service?: string;
  check: string;
  ok: boolean;
  detail: string;
}

async function verifyJson(args: string[]): Promise<{ code: number; rows: Row[] }> {
  const r = await verifyDeploy(['--json', '--timeout', '3000', ...args]);
  const parsed = JSON.parse(r.stdout) as { ok: boolean; results: Row[] };
  expect(parsed.ok).toBe(r.code === 0);
  return { code: r.code, rows: parsed.results };
}

const byName = (name: ServiceName) => running.find((s) => s.name === name)!;

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'vigil-test-deploy-'));
  writeFileSync(
    path.join(workDir, 'jobs.yaml'),
    [
      'timezone: UTC',
      'jobs:',
      '  nightly-ping:',
      '    schedule: "0 3 * * *"',
      '    handler: http',
      '    http: { url: "http://127.0.0.1:9/ping", method: GET, timeout: 5s }',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(workDir, 'secrets.json'), JSON.stringify({ 'demo-key': 'demo-value' }));
  if (which('pnpm')) {
    appDir = path.join(workDir, 'app');
    // Other test files rebuild dist/ too: build and copy under the same lock so nothing half-written is copied.
    const dirs = SERVICES.map((n) => `services/${n}`).join(' ');
    const script = `pnpm exec tsc -b ${dirs} && sh deploy/assemble-runtime.sh '${appDir}'`;
    const r = which('flock') ? run('flock', [BUILD_LOCK, 'sh', '-c', script]) : run('sh', ['-c', script]);
    expect(r.status, `build + assemble-runtime.sh failed:\n${r.stdout}${r.stderr}`).toBe(0);
  } else {
    console.warn('[deploy tests] pnpm not on PATH: services run from the repository, not the pruned image tree');
  }
  [nats, redis, smtp, otlp] = await Promise.all([startNats(), startRedis(), startSmtpSink(), startHttpReceiver()]);
  await Promise.all(SERVICES.map((name) => startService(name)));
}, 90_000);

afterAll(async () => {
  await Promise.all(running.map(stopService));
  await smtp?.stop();
  await otlp?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe('the image tree (deploy/assemble-runtime.sh)', () => {
  it.skipIf(!which('pnpm'))('carries the demo jobs and handlers of examples/, but no secrets file', () => {
    const examples = path.join(appDir, 'examples');
    expect(readText(path.join(examples, 'jobs.yaml'))).toBe(readText(path.join(root, 'examples', 'jobs.yaml')));
    expect(existsSync(path.join(examples, 'handlers'))).toBe(existsSync(path.join(root, 'examples', 'handlers')));
    // Only what it names: a secrets file in examples/ (the demo one, or real values) never reaches the image.
    expect(readdirSync(examples).sort()).toEqual(
      ['handlers', 'jobs.yaml'].filter((f) => existsSync(path.join(root, 'examples', f))),
    );
  });
});

describe('verify-deploy against the real services', () => {
  it('passes every check on a healthy deployment and prints the table', async () => {
    const urls = SERVICES.map((n) => byName(n).url);
    const table = await verifyDeploy(urls);
    expect(table.code, table.stdout + table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^URL\s+SERVICE\s+CHECK\s+RESULT\s+DETAIL/m);
    expect(table.stdout).not.toContain('FAIL');
    expect(table.stdout).toContain(`all ${SERVICES.length * 3 + 2} checks passed`);

    const { code, rows } = await verifyJson(urls);
    expect(code).toBe(0);
    for (const name of SERVICES) {
      const mine = rows.filter((r) => r.url === byName(name).url);
      expect(mine.map((r) => r.service)).toEqual(mine.map(() => name));
      const checks = mine.map((r) => r.check).sort();
      // The API auth check runs for the two services with mutating routes.
      expect(checks).toEqual(
        name === 'scheduler' || name === 'webhooks'
          ? ['auth', 'metrics', 'ready', 'version']
          : ['metrics', 'ready', 'version'],
      );
    }
    // /version shows the commit the "image" was built from.
    expect(rows.find((r) => r.check === 'version')?.detail).toContain('verify-deploy-test');
  }, 60_000);

  it('every service exports traces over OTLP/HTTP, as it does to Jaeger in compose', async () => {
    // Tracing libraries load only when an endpoint is set: this also proves the pruned tree has them.
    const exported = await waitFor(
      () => {
        const bodies = otlp.requests.filter((r) => r.method === 'POST' && r.url === '/v1/traces').map((r) => r.body);
        const seen = SERVICES.filter((n) => bodies.some((b) => b.includes(`vigil-${n}`)));
        return seen.length === SERVICES.length ? seen : undefined;
      },
      { timeout: 20_000, interval: 200, message: 'a /v1/traces export from every service' },
    );
    expect(exported).toEqual([...SERVICES]);
  }, 30_000);

  it('every service reports the version of its package.json, so --expect-version can prove the release', async () => {
    const { rows } = await verifyJson(['--expect-version', VERSION, ...SERVICES.map((n) => byName(n).url)]);
    const wrong = rows.filter((r) => r.check === 'version' && !r.ok).map((r) => `${r.service}: ${r.detail}`);
    expect(wrong).toEqual([]);
  }, 30_000);

  it('fails when the deployed version is not the expected one (the old image was deployed)', async () => {
    const { code, rows } = await verifyJson(['--expect-version', '99.0.0', byName('secrets').url]);
    expect(code).toBe(1);
    const version = rows.find((r) => r.check === 'version')!;
    expect(version.ok).toBe(false);
    expect(version.detail).toContain('expected version 99.0.0');
    expect(rows.filter((r) => r.check !== 'version').every((r) => r.ok)).toBe(true);
  }, 30_000);

  it('fails the auth check when the API token was not configured (mutating routes answer 503)', async () => {
    const unconfigured = await startService('webhooks', { VIGIL_API_TOKEN: '' });
    try {
      const { code, rows } = await verifyJson([unconfigured.url]);
      expect(code).toBe(1);
      const auth = rows.find((r) => r.check === 'auth')!;
      expect(auth.ok).toBe(false);
      expect(auth.detail).toContain('VIGIL_API_TOKEN is not set');
    } finally {
      await stopService(unconfigured);
    }
  }, 60_000);

  it('the container health check passes on a live service', async () => {
    const ok = await execFileP(process.execPath, [
      path.join(deployDir, 'healthcheck.mjs'),
      `${byName('secrets').url}/health/ready`,
    ]);
    expect(ok.stderr).toBe('');
  });

  it('the entrypoint refuses an unknown service with exit code 78 and says why', async () => {
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn('sh', [path.join(deployDir, 'docker-entrypoint.sh')], {
        env: { PATH: process.env.PATH, VIGIL_SERVICE: 'schedular' },
      });
      let err = '';
      c.stderr.on('data', (b: Buffer) => {
        err += b.toString();
      });
      c.once('exit', (code) => resolve({ code, err }));
    });
    expect(r.code).toBe(78);
    expect(r.err).toContain('VIGIL_SERVICE must be one of scheduler, reports, notifier, secrets, webhooks');
  });

  it('names the failing dependency when a service is alive but not ready (Redis down)', async () => {
    const webhooks = byName('webhooks');
    await redis.stop();
    try {
      await waitFor(async () => (await fetch(`${webhooks.url}/health/ready`)).status === 503, 15_000);
      // Liveness alone would still say "fine" (seed 002): the process serves.
      expect((await fetch(`${webhooks.url}/health/live`)).status).toBe(200);
      const { code, rows } = await verifyJson([webhooks.url]);
      expect(code).toBe(1);
      const ready = rows.find((r) => r.check === 'ready')!;
      expect(ready.ok).toBe(false);
      expect(ready.detail).toMatch(/^HTTP 503 failing: .*redis/);
    } finally {
      await redis.start();
    }
    for (const name of ['webhooks', 'secrets'] as const) {
      await waitFor(async () => (await fetch(`${byName(name).url}/health/ready`)).status === 200, 20_000);
    }
  }, 60_000);

  // Last: stops a service for good.
  it('reports the one stopped service and exits non-zero', async () => {
    const notifier = byName('notifier');
    await stopService(notifier);
    const urls = SERVICES.map((n) => byName(n).url);
    const table = await verifyDeploy(['--timeout', '3000', ...urls]);
    expect(table.code).toBe(1);
    expect(table.stdout).toContain(`FAILED on ${notifier.url}`);

    const { code, rows } = await verifyJson(urls);
    expect(code).toBe(1);
    const failed = rows.filter((r) => !r.ok);
    expect(new Set(failed.map((r) => r.url))).toEqual(new Set([notifier.url]));
    expect(failed.map((r) => r.check).sort()).toEqual(['metrics', 'ready', 'version']);
    expect(failed[0].detail).toMatch(/unreachable/);

    // The container health check agrees: the stopped one is unhealthy.
    await expect(
      execFileP(process.execPath, [path.join(deployDir, 'healthcheck.mjs'), `${notifier.url}/health/live`]),
    ).rejects.toMatchObject({ code: 1 });
  }, 60_000);
});
