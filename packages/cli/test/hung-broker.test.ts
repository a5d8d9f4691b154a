import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPackages, startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = path.join(root, 'packages/cli/bin/vigil.mjs');

/** Runs the real `vigil` command; kills it after `killAfterMs` (a hang) and says so. */
function vigil(natsUrl: string, argv: string[], killAfterMs = 15_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number; killed: boolean }>(
    (resolve) => {
      const started = Date.now();
      const child = spawn(process.execPath, [bin, ...argv], {
        env: { ...process.env, NATS_URL: natsUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b) => {
        stdout += b;
      });
      child.stderr.on('data', (b) => {
        stderr += b;
      });
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, killAfterMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, ms: Date.now() - started, killed });
      });
    },
  );
}

/**
 * A broker that accepts TCP but never answers (a SIGSTOPped nats-server, a frozen VM): the CLI must print what
 * happened and exit 1 promptly, never hang (`vigil health` from cron would hang exactly when the broker hangs).
 */
describe('vigil exits when the broker accepts connections but never answers', () => {
  let nats: TestServer;

  beforeAll(async () => {
    buildPackages(root, 'packages/cli');
    nats = await startNats({ jetstream: false });
  }, 90_000);
  afterAll(async () => {
    await nats?.stop();
  });

  /** Runs `fn` with nats-server stopped (SIGSTOP: its port still accepts TCP); always continues it. */
  async function frozen<T>(fn: () => Promise<T>): Promise<T> {
    const pid = nats.pid();
    if (!pid) throw new Error('nats-server is not running');
    process.kill(pid, 'SIGSTOP');
    try {
      return await fn();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }

  it('frozen before the CLI connects: `cannot reach NATS … (TIMEOUT)` and exit 1, `runs` and `health` alike', async () => {
    const [runs, health] = await frozen(() => Promise.all([vigil(nats.url, ['runs']), vigil(nats.url, ['health'])]));
    for (const r of [runs, health]) {
      expect(r.killed, `hung: ${r.stderr}`).toBe(false);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ \(TIMEOUT/);
      expect(r.ms).toBeLessThan(8_000);
    }
  }, 30_000);

  it('frozen after the CLI connected, while its request waits: the no-answer error and exit 1', async () => {
    // a stand-in scheduler that freezes the broker when the CLI's request reaches it: connected, then no answer
    const nc: NatsConnection = await connect({ servers: nats.url });
    const pid = nats.pid();
    if (!pid) throw new Error('nats-server is not running');
    let stopped = false;
    const sub = nc.subscribe('scheduler.runs', {
      callback: () => {
        stopped = true;
        process.kill(pid, 'SIGSTOP');
      },
    });
    await nc.flush();
    try {
      const r = await vigil(nats.url, ['runs']);
      expect(stopped).toBe(true);
      expect(r.killed, `hung: ${r.stderr}`).toBe(false);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no answer from the scheduler service on scheduler\.runs .* within 5s/);
      expect(r.ms).toBeLessThan(10_000);
    } finally {
      if (stopped) process.kill(pid, 'SIGCONT');
      sub.unsubscribe();
      await nc.close();
    }
  }, 30_000);
});
