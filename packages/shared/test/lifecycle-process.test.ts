import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startNats, type TestServer, waitFor } from '@vigil/shared/testing';

const loader = new URL('./fixtures/ts-loader.mjs', import.meta.url).href;
const fixture = fileURLToPath(new URL('./fixtures/demo-service.ts', import.meta.url));

let nats: TestServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await nats?.stop();
});

function runDemo(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', loader, fixture], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out: string[] = [];
  const err: string[] = [];
  child.stdout?.on('data', (d) => out.push(String(d)));
  child.stderr?.on('data', (d) => err.push(String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () =>
    out
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, exited, lines, stderr: () => err.join('') };
}

describe('a service process', () => {
  it('on SIGTERM stops gracefully (hooks, drain) and exits 0', async () => {
    const demo = runDemo({ NATS_URL: nats.url, HTTP_PORT: '0', NATS_PASSWORD: 'unused-but-secret' });
    const listening = await waitFor(() => demo.lines().find((l) => String(l.msg).startsWith('listening on')), 20_000);
    const url = String(listening.msg).replace('listening on ', '');
    await waitFor(async () => (await fetch(`${url}/health/ready`)).status === 200);
    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
    const msgs = demo.lines().map((l) => l.msg);
    expect(msgs).toEqual(expect.arrayContaining(['received SIGTERM', 'stopping', 'demo hook ran', 'stopped']));
    expect(msgs.indexOf('demo hook ran')).toBeLessThan(msgs.indexOf('stopped'));
    expect(demo.stderr()).toBe('');
  }, 40_000);

  it('SIGTERM while still waiting for NATS at start-up: exits 0 at once, nothing left on its port', async () => {
    const port = await freePort();
    const demo = runDemo({ NATS_URL: `nats://127.0.0.1:${await freePort()}`, HTTP_PORT: String(port) });
    await waitFor(() => fetch(`http://127.0.0.1:${port}/health/live`).catch(() => undefined), 20_000);
    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
  }, 40_000);

  it('a second signal while stopping exits at once', async () => {
    const demo = runDemo({ NATS_URL: nats.url, HTTP_PORT: '0', DEMO_HANG_SHUTDOWN: '1' });
    await waitFor(() => demo.lines().find((l) => l.msg === 'ready'), 20_000);
    demo.child.kill('SIGTERM');
    await waitFor(() => demo.lines().find((l) => l.msg === 'demo hook ran'));
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(1);
    expect(demo.lines().map((l) => l.msg)).toContain('second signal: exiting now');
  }, 40_000);

  it('an unhandled rejection is logged as fatal with its error and exits 1 (a crash is never silent)', async () => {
    const demo = runDemo({ NATS_URL: nats.url, HTTP_PORT: '0', DEMO_CRASH_AFTER_READY: '1' });
    expect(await demo.exited).toBe(1);
    const fatal = demo.lines().find((l) => l.msg === 'uncaught error: exiting');
    expect(fatal).toMatchObject({ level: 'fatal', service: 'demo-proc' });
    const err = (fatal?.err ?? {}) as { message?: string; stack?: string };
    expect(err.message).toBe('demo bug: undefined is not a function');
    expect(err.stack).toContain('demo-service.ts');
  }, 40_000);

  it('exits 78 when the jobs file is missing, saying which file it looked for and from where', async () => {
    const demo = runDemo({ NATS_URL: nats.url, HTTP_PORT: '0', VIGIL_JOBS_FILE: './no-such/jobs.yaml' });
    expect(await demo.exited).toBe(78);
    const fatal = demo.lines().find((l) => l.msg === 'start-up failed');
    const err = fatal?.err as { message?: string; code?: string } | undefined;
    expect(err?.message).toMatch(
      /jobs file \/.*\/no-such\/jobs\.yaml does not exist \(VIGIL_JOBS_FILE=\.\/no-such\/jobs\.yaml; a relative path resolves from the working directory /,
    );
    expect(err?.code).toBe('VIGIL_E_CONFIG');
  }, 40_000);

  it('exits 78 naming every bad variable when the environment is wrong', async () => {
    const demo = runDemo({ NATS_URL: nats.url, HTTP_PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(await demo.exited).toBe(78);
    const line = JSON.parse(demo.stderr().trim());
    expect(line.msg).toContain('HTTP_PORT');
    expect(line.msg).toContain('LOG_LEVEL');
  }, 30_000);
});
