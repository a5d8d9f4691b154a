// `npm start`'s supervisor when another program binds a child's port first (another `npm start` that chose the
// same free port): the child says "address in use" and is started again at once on another port, and the wait for
// readiness never counts the other program's 200 on the old port. A stand-in service (a few lines of Node that
// answer /health/ready like runService's) instead of a full stack.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const tmp = mkdtempSync(path.join(tmpdir(), 'vigil-test-dev-stack-port-'));
const service = path.join(tmp, 'service.mjs');
// Like a Vigil service: a moment of start-up, then listen on HTTP_PORT, logging as runService does.
writeFileSync(
  service,
  `import http from 'node:http';
const port = Number(process.env.HTTP_PORT);
const log = (o) => console.log(JSON.stringify({ service: 'fake', ...o }));
setTimeout(() => {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === '/whoami' ? { pid: process.pid } : { ready: true, phase: 'running', checks: {} }));
  });
  server.once('error', (err) => {
    log({ level: 'fatal', msg: 'start-up failed', err: { type: 'Error', message: err.message } });
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => log({ level: 'info', phase: true, msg: 'listening on http://127.0.0.1:' + port }));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}, 300);
`,
);

type Entry = {
  name: string;
  port: number;
  ports: number[];
  env: Record<string, string>;
  child: { pid: number; kill(sig?: string): boolean };
};

let sup: typeof import('../../scripts/dev-stack/supervisor.mjs');
let readiness: typeof import('../../scripts/dev-stack/readiness.mjs');
let ports: typeof import('../../scripts/dev-stack/ports.mjs');
let other: http.Server;
let otherPort: number;
const said: string[] = [];
const log = console.log;

beforeAll(async () => {
  process.env.VIGIL_STATE_DIR = path.join(tmp, 'state');
  process.env.VIGIL_QUIET = '1';
  console.log = (...args: unknown[]) => void said.push(args.join(' '));
  sup = await import('../../scripts/dev-stack/supervisor.mjs');
  readiness = await import('../../scripts/dev-stack/readiness.mjs');
  ports = await import('../../scripts/dev-stack/ports.mjs');
  // The other stack's service, ready on the port this stack chose.
  other = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ready: true, phase: 'running', checks: {} }));
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherPort = (other.address() as AddressInfo).port;
});

afterAll(async () => {
  console.log = log;
  sup?.stopStarting();
  for (const c of sup?.children ?? []) if (sup.running(c)) c.child.kill('SIGKILL');
  await new Promise((r) => other?.close(r));
  delete process.env.VIGIL_STATE_DIR;
  delete process.env.VIGIL_QUIET;
  rmSync(tmp, { recursive: true, force: true });
});

const whoami = async (port: number) =>
  ((await (await fetch(`http://127.0.0.1:${port}/whoami`)).json()) as { pid: number }).pid;

describe('a child whose port another program took first', () => {
  let entry: Entry;

  it("is not ready on the other program's answer, moves to a free port, and is ready there on its own", async () => {
    const moves: number[] = [];
    const afterMoves: Array<[number, number, number]> = [];
    entry = sup.start('fake', process.execPath, [service], {
      env: { HTTP_PORT: String(otherPort) },
      cwd: tmp,
      port: otherPort,
      listening: (line: string, e: Entry) => line.includes(`listening on http://127.0.0.1:${e.port}"`),
      onPortTaken: async (e: Entry, taken: number) => {
        moves.push(taken);
        const port = await ports.pickPort();
        e.port = port;
        e.ports = [port];
        e.env = { ...e.env, HTTP_PORT: String(port) };
        return true;
      },
      // What follows the move (the notifier's restart when the scheduler moves) comes once it runs there.
      afterMove: (e: Entry, old: number) => {
        afterMoves.push([old, e.port, e.child.pid]);
        console.log('[test] after the move');
      },
    }) as Entry;

    // The other program answers 200 on that port right now: that is not this child being ready.
    expect((await fetch(`http://127.0.0.1:${otherPort}/health/ready`)).status).toBe(200);
    expect(await readiness.serviceReady(entry)).toBe(false);

    const { pending, stopped } = await readiness.waitServices([entry], {
      stopped: () => false,
      stayedStopped: sup.stayedStopped,
      ms: 20_000,
    });
    expect({ pending, stopped }).toEqual({ pending: [], stopped: [] });
    expect(moves).toEqual([otherPort]);
    expect(afterMoves).toEqual([[otherPort, entry.port, entry.child.pid]]);
    expect(entry.port).not.toBe(otherPort);
    expect(await whoami(entry.port)).toBe(entry.child.pid);
    expect(said.join('\n')).toContain(
      `[vigil] fake: port ${otherPort} is taken by another process (not this stack's); starting it on port ${entry.port}`,
    );
    expect(said.findIndex((l) => l.includes('starting it on port'))).toBeLessThan(
      said.indexOf('[test] after the move'),
    );
    // Moved at once: not a crash with a backoff.
    expect(said.join('\n')).not.toMatch(/fake exited .*restarting in/);
  }, 30_000);

  it('restartNow brings it back at once with its current settings, not counted as a crash', async () => {
    const before = entry.child.pid;
    const port = entry.port;
    sup.restartNow(entry, 'its settings changed');
    const until = Date.now() + 15_000;
    while (Date.now() < until && !(entry.child.pid !== before && (await readiness.serviceReady(entry)))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(entry.child.pid).not.toBe(before);
    expect(entry.port).toBe(port);
    expect(await whoami(port)).toBe(entry.child.pid);
    expect(said.join('\n')).toContain('[vigil] restarting fake: its settings changed');
    expect(said.join('\n')).not.toMatch(/fake exited/);
  }, 30_000);
});
