// `npm start` supervises its children like docker-compose `restart: unless-stopped`: a service killed with -9
// comes back (new pid in pids.json, ready again), and Ctrl-C still stops everything the stack ever recorded.
// The stack runs for real (scripts/dev-stack.mjs, built services, its own nats-server and redis-server) with its
// state in a temp dir (VIGIL_STATE_DIR), so it never touches a developer's `npm start` in the same checkout.
// Meanwhile "another stack" binds the port the stack chose for secrets before secrets does: secrets must move.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVICES = ['scheduler', 'reports', 'notifier', 'secrets', 'webhooks'];
const hasProc = existsSync('/proc/self/stat');

interface Recorded {
  name: string;
  pid: number;
  id: string;
  port?: number;
}
interface PidsFile {
  devStack: { pid: number; id: string };
  children: Recorded[];
}

/** As scripts/dev-stack/processes.mjs tells processes apart: pid plus start time, so a reused pid is not "alive". */
function alive(p: { pid: number; id?: string }): boolean {
  if (!hasProc) {
    try {
      process.kill(p.pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return false;
  return p.id === undefined || p.id.endsWith(`:${fields[19]}`);
}

/** Every process carrying this test stack's VIGIL_DEV_STACK mark (children, and whatever they started). */
function markedBy(stateDir: string): number[] {
  if (!hasProc) return [];
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/environ`, 'utf8')
          .split('\0')
          .some((v) => v.startsWith(`VIGIL_DEV_STACK=${stateDir}#`));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Holds a port on loopback, as another program would; undefined when something already holds it. */
function hold(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

async function ready(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2_000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

describe('npm start (scripts/dev-stack.mjs)', () => {
  const stateDir = mkdtempSync(
    path.join(tmpdir(), `vigil-test-${process.env.VIGIL_TEST_RUN ? `${process.env.VIGIL_TEST_RUN}-` : ''}dev-stack-`),
  );
  const pidsFile = path.join(stateDir, 'pids.json');
  let stack: ChildProcess;
  let output = '';
  let exit: Promise<number | null>;
  const held: net.Server[] = [];
  /** The other program on the port first chosen for secrets, answering 200 to everything (as a ready service). */
  let grabbed: { port: number; server: net.Server } | undefined;
  let grabber: NodeJS.Timeout | undefined;
  const everRecorded = new Map<number, Recorded | PidsFile['devStack']>();

  const readPids = (): PidsFile | undefined => {
    try {
      const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as PidsFile;
      everRecorded.set(pids.devStack.pid, pids.devStack);
      for (const c of pids.children) everRecorded.set(c.pid, c);
      return pids;
    } catch {
      return undefined; // not written yet, or between two writes
    }
  };

  /** Polls until check() holds; fails at once (with the stack's output) if the stack exits meanwhile. */
  async function until<T>(what: string, check: () => T | Promise<T>, ms: number): Promise<NonNullable<T>> {
    const end = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value) return value as NonNullable<T>;
      if (stack.exitCode !== null || stack.signalCode !== null) {
        throw new Error(`the dev stack exited (${stack.exitCode ?? stack.signalCode}) before ${what}:\n${output}`);
      }
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    // The stack skips a service that is not built; this test would then prove nothing about it.
    const missing = [
      ...SERVICES.map((s) => path.join('services', s, 'dist', 'main.js')),
      path.join('packages', 'shared', 'dist', 'index.js'),
    ].filter((f) => !existsSync(path.join(root, f)));
    if (missing.length > 0) {
      throw new Error(`not built: ${missing.join(', ')}. Run \`pnpm exec tsc -b\` first (npm test does).`);
    }
    // The preferred ports busy, as on a machine that runs NATS and Redis already: the stack must take others.
    for (const port of [4222, 6379]) {
      const s = await hold(port);
      if (s) held.push(s);
    }
    // As soon as secrets is recorded with its port (before it can bind it: a Node service takes a while to load),
    // take that port, as another `npm start` that chose the same free port would.
    grabber = setInterval(() => {
      const secrets = readPids()?.children.find((c) => c.name === 'secrets');
      if (grabbed || !secrets?.port) return;
      const server = http.createServer((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end('{"ready":true,"phase":"running","checks":{}}');
      });
      grabbed = { port: secrets.port, server };
      server.listen(secrets.port, '127.0.0.1');
    }, 5);
    stack = spawn(process.execPath, [path.join(root, 'scripts', 'dev-stack.mjs')], {
      cwd: root,
      env: { ...process.env, VIGIL_STATE_DIR: stateDir, VIGIL_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a signal meant for the test worker does not reach it, and cleanup can kill it.
      detached: true,
    });
    exit = new Promise((r) => stack.once('exit', (code) => r(code)));
    stack.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    stack.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    await until('"Vigil is running"', () => output.includes('Vigil is running'), 110_000);
    clearInterval(grabber);
    readPids();
    // Its ports are chosen: a developer's `npm start` or a system NATS may have 4222/6379 again.
    for (const s of held.splice(0)) await new Promise((r) => s.close(r));
  }, 120_000);

  afterAll(async () => {
    // Whatever happened above, nothing of this stack may outlive the file.
    if (stack?.pid && stack.exitCode === null && stack.signalCode === null) {
      try {
        process.kill(-stack.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await Promise.race([exit, new Promise((r) => setTimeout(r, 5_000))]);
    }
    readPids();
    for (const pid of new Set([...markedBy(stateDir), ...[...everRecorded.values()].filter(alive).map((p) => p.pid)])) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const s of held) await new Promise((r) => s.close(r));
    clearInterval(grabber);
    if (grabbed?.server.listening) await new Promise((r) => grabbed!.server.close(r));
    rmSync(stateDir, { recursive: true, force: true });
  }, 30_000);

  it('started every service, on other ports than the busy preferred ones', () => {
    expect(output).not.toContain('not built yet');
    expect(output).not.toContain('not ready yet');
    const pids = readPids();
    expect(pids?.devStack.pid).toBe(stack.pid);
    const names = pids?.children.map((c) => c.name) ?? [];
    expect(names).toEqual(expect.arrayContaining(['nats', 'redis', 'mail', ...SERVICES]));
    expect(pids?.children.find((c) => c.name === 'nats')?.port).not.toBe(4222);
    expect(pids?.children.find((c) => c.name === 'redis')?.port).not.toBe(6379);
  });

  it('moved secrets off the port another program took, and counted only its own answer as ready', async () => {
    expect(grabbed?.server.listening, 'the test could not take the port chosen for secrets').toBe(true);
    const secrets = readPids()?.children.find((c) => c.name === 'secrets');
    expect(secrets?.port).toBeTypeOf('number');
    expect(secrets!.port).not.toBe(grabbed!.port);
    expect(output).toContain(
      `[vigil] secrets: port ${grabbed!.port} is taken by another process (not this stack's); starting it on port ${secrets!.port}`,
    );
    expect(output).toMatch(new RegExp(`secrets +http://127\\.0\\.0\\.1:${secrets!.port} `));
    expect(await ready(secrets!.port!)).toBe(true);
  });

  it("points the files and command lines it hands out at this stack's ports and state dir", () => {
    const port = (name: string) => readPids()?.children.find((c) => c.name === name)?.port;
    // The jobs file the services read: api-ping calls this stack's reports service.
    const jobs = readFileSync(path.join(stateDir, 'jobs.yaml'), 'utf8');
    expect(jobs).toContain(`url: "http://127.0.0.1:${port('reports')}/health/live"`);
    expect(readFileSync(path.join(stateDir, 'env'), 'utf8')).toContain(
      `VIGIL_PUBLIC_URL=http://127.0.0.1:${port('scheduler')}\n`,
    );
    expect(output).toContain(`trigger    VIGIL_STATE_DIR=${stateDir} npx vigil trigger <job>`);
    if (hasProc) {
      const notifier = readPids()?.children.find((c) => c.name === 'notifier');
      const env = readFileSync(`/proc/${notifier!.pid}/environ`, 'utf8').split('\0');
      expect(env).toContain(`ALERT_CLI=${path.join(stateDir, 'vigil')}`);
      expect(env).toContain(`VIGIL_JOBS_FILE=${path.join(stateDir, 'jobs.yaml')}`);
    }
  });

  it('starts reports again after kill -9, on the same port, and records the new process', async () => {
    const before = readPids()?.children.find((c) => c.name === 'reports');
    expect(before?.port).toBeTypeOf('number');
    const port = before!.port!;
    expect(await ready(port)).toBe(true);

    process.kill(before!.pid, 'SIGKILL');

    const after = await until(
      'a new reports process in pids.json',
      () => readPids()?.children.find((c) => c.name === 'reports' && c.pid !== before!.pid),
      30_000,
    );
    expect(after.port).toBe(port);
    expect(alive(before!)).toBe(false);
    expect(output).toMatch(
      /\[vigil\] reports exited \(SIGKILL\); restarting in 1 s \(restart 1; log: [^)]*reports\.log\)/,
    );
    await until('the new reports process to answer /health/ready with 200', () => ready(port), 60_000);
    expect(alive(after)).toBe(true);
    // Recorded exactly as at the first start: pid and start time of the live process, its port and command.
    expect(after.id).toBeTypeOf('string');
    expect((after as Recorded & { command?: string }).command).toContain(path.join('services', 'reports'));
  }, 120_000);

  it('stops on SIGINT (Ctrl-C), even during a restart backoff, and leaves none of its processes running', async () => {
    // A second crash within 60 s waits 2 s: the Ctrl-C lands in that wait, which must not start reports again.
    const reports = readPids()?.children.find((c) => c.name === 'reports');
    expect(reports).toBeDefined();
    process.kill(reports!.pid, 'SIGKILL');
    await until(
      'the second restart to be announced',
      () => /reports exited \(SIGKILL\); restarting in 2 s/.test(output),
      30_000,
    );
    readPids();
    const recorded = [...everRecorded.values()];
    expect(recorded.length).toBeGreaterThanOrEqual(SERVICES.length + 5);

    process.kill(stack.pid!, 'SIGINT');
    const code = await Promise.race([exit, new Promise((r) => setTimeout(() => r('still running'), 90_000))]);

    expect(code, output).toBe(0);
    expect(output).toContain('stopped; nothing left running');
    expect(recorded.filter(alive).map((p) => `${'name' in p ? p.name : 'dev stack'} (pid ${p.pid})`)).toEqual([]);
    expect(markedBy(stateDir)).toEqual([]);
    expect(existsSync(pidsFile)).toBe(false);
    expect(output).not.toMatch(/reports exited[^\n]*restart 3/);
  }, 120_000);
});
