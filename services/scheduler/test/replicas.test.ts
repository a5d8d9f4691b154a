import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPackages, collectEvents, freePort, startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const JOBS = ['a', 'b', 'c', 'd', 'e'];
const yaml = `jobs:\n${JOBS.map((j) => `  slot-${j}:\n    every: 1s\n    handler: health.daily\n    concurrency: allow\n`).join('')}`;

interface Replica {
  proc: ChildProcess;
  port: number;
}

/** Three real scheduler processes over one NATS, real time: every slot once, even across a kill -9. */
describe('exactly one job.requested per slot across replicas', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    buildPackages(root, 'services/scheduler');
    nats = await startNats();
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-replicas-'));
    writeFileSync(path.join(dir, 'jobs.yaml'), yaml);
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const proc = spawn(process.execPath, [path.join(root, 'services/scheduler/dist/main.js')], {
        env: {
          ...process.env,
          NATS_URL: nats.url,
          HTTP_PORT: String(port),
          VIGIL_JOBS_FILE: path.join(dir, 'jobs.yaml'),
          LOG_LEVEL: 'error',
          SCHEDULER_SLOT_GRACE: '700ms',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      replicas.push({ proc, port });
    }
    for (const r of replicas) {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${r.port}/health/ready`)).status === 200, 20_000);
    }
    nc = await connect({ servers: nats.url });
  }, 90_000);

  afterAll(async () => {
    for (const r of replicas) if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
    await nc?.close();
    await nats?.stop();
  });

  /** What the stream stored (de-duplicated), not what was sent on the wire. */
  async function storedRequests(): Promise<{ runId: string; job: string; slot: number }[]> {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info('VIGIL_JOBS');
    const out: { runId: string; job: string; slot: number }[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage('VIGIL_JOBS', { seq }).catch(() => undefined);
      if (!m) continue;
      if (!m.subject.startsWith('job.requested.')) continue;
      const data = (m.json() as { data: { runId: string; job: string; scheduledAt: string } }).data;
      out.push({ runId: data.runId, job: data.job, slot: Date.parse(data.scheduledAt) });
    }
    return out;
  }

  it('50+ slots, kill -9 of the replica holding the latest slot: no slot lost, none twice', async () => {
    const t0 = Date.now();
    const requested = collectEvents(nc, 'job.requested.>');
    // the schedule runs in real time (every 1 s): let it fill the window before the kill
    await new Promise((r) => setTimeout(r, 5_000));

    // who holds the newest slot? its KV claim names the instance (host-pid-rand)
    const slots = await nc.jetstream().views.kv('vigil_slots', { bindOnly: true });
    const newest = `slot-a.${Math.floor(Date.now() / 1000) - 1}`;
    const holder = (await slots.get(newest))?.json<{ by: string }>().by ?? '';
    const pid = Number(holder.split('-').at(-2));
    const victim = replicas.find((r) => r.proc.pid === pid) ?? replicas[0];
    victim.proc.kill('SIGKILL');
    const tKill = Date.now();

    // the window ends 4+ s after the kill; the survivors are past it, for every job, by 2 s more (a slot the victim
    // had claimed is taken over after the grace)
    const to = Math.ceil(tKill / 1000) * 1000 + 4_000;
    const publishedUpTo = (job: string) =>
      Math.max(0, ...requested.of(`job.requested.${job}`).map((e) => Date.parse(e.event.data.scheduledAt)));
    await waitFor(() => JOBS.every((j) => publishedUpTo(`slot-${j}`) >= to + 2_000), {
      timeout: 30_000,
      interval: 100,
      message: 'survivors publishing past the window',
    });
    requested.stop();
    const reqs = await storedRequests();

    const runIds = reqs.map((r) => r.runId);
    expect(new Set(runIds).size).toBe(runIds.length); // none twice
    // every slot in the window, for every job, exactly once (edges excluded: start-up and the read itself)
    const from = Math.ceil((t0 + 1_000) / 1000) * 1000;
    let counted = 0;
    for (const j of JOBS) {
      const mine = new Map<number, number>();
      for (const r of reqs) if (r.job === `slot-${j}`) mine.set(r.slot, (mine.get(r.slot) ?? 0) + 1);
      for (let s = from; s <= to; s += 1000) {
        expect(
          mine.get(s),
          `slot-${j} at ${new Date(s).toISOString()} (killed at ${new Date(tKill).toISOString()})`,
        ).toBe(1);
        counted++;
      }
    }
    expect(counted).toBeGreaterThanOrEqual(40);
    expect(reqs.length).toBeGreaterThanOrEqual(50);
  }, 60_000);
});
