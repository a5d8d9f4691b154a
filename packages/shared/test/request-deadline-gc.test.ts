import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildPackages } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/deadline-under-gc.mjs', import.meta.url));
// The built file, as a service process loads it: the bug lives in the runtime, not in vitest's module graph.
const helper = pathToFileURL(path.join(root, 'packages/shared/dist/time/request-deadline.js')).href;

const DEADLINE_MS = 1000;

let server: Server;
let hangUrl: string;

beforeAll(async () => {
  buildPackages(root, 'packages/shared');
  // Accepts the request and never answers: only the deadline can end it.
  server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hangUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hang`;
}, 120_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

describe('deadlineSignal under garbage collection', () => {
  it('aborts a hanging fetch at its deadline in a process that collects garbage every 100 ms', async () => {
    const child = spawn(process.execPath, ['--expose-gc', script], {
      env: { PATH: process.env.PATH ?? '', HELPER_URL: helper, HANG_URL: hangUrl, DEADLINE_MS: String(DEADLINE_MS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    // A guard, not a wait: a deadline that never fires leaves the child hanging, and the test must fail, not hang.
    const guard = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS + 9_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(guard);
    expect(err).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(out.trim()) as { outcome: string; name?: string; elapsedMs?: number };
    expect(result).toMatchObject({ outcome: 'aborted', name: 'TimeoutError' });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(result.elapsedMs).toBeLessThan(DEADLINE_MS + 2_000);
  }, 20_000);
});
