import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { collectEvents, startNats, type TestServer, waitFor } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobsDir, type Replica, requestRun, spawnReplica } from './helpers.js';

// The handler's side effect: one line per execution, so a run executed twice shows up twice.
const handlerSource = `
import { appendFileSync, existsSync } from 'node:fs';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export default {
  async run(ctx) {
    await sleep(5);
    // Runs from run-0300 on wait at the gate (each says so first), so the replica killed below holds some mid-run.
    if (Number(ctx.runId.slice(4)) >= 300) {
      appendFileSync(ctx.options.gated, ctx.runId + ' ' + process.pid + '\\n');
      while (existsSync(ctx.options.gate)) await sleep(20);
    }
    appendFileSync(ctx.options.effects, ctx.runId + ' ' + process.pid + '\\n');
  },
};
`;

describe('two runner replicas, 1,000 runs, one replica killed with -9', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  const replicas: Replica[] = [];
  let dir: string;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    const d = jobsDir('');
    dir = d.dir;
    writeFileSync(
      d.file,
      `jobs:
  work:
    handler: module:./side-effect.mjs
    concurrency: allow
    retries: { max: 0 }
    module: { effects: ${JSON.stringify(path.join(dir, 'effects.log'))}, gate: ${JSON.stringify(path.join(dir, 'gate'))}, gated: ${JSON.stringify(path.join(dir, 'gated.log'))} }
`,
    );
    writeFileSync(path.join(dir, 'side-effect.mjs'), handlerSource);
    const env = { NATS_URL: nats.url, VIGIL_JOBS_FILE: d.file, RUNNER_ACK_WAIT: '2s' };
    replicas.push(spawnReplica(env), spawnReplica(env));
    await waitFor(() => replicas.every((r) => r.output().includes('runner consuming')), { timeout: 20_000 });
  });

  afterAll(async () => {
    for (const r of replicas) if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
    await nc?.close();
    await nats?.stop();
  });

  it('executes every run exactly once and loses none', async () => {
    const events = collectEvents(nc, 'job.*.work');
    const effects = path.join(dir, 'effects.log');
    const gate = path.join(dir, 'gate');
    const lines = () => (existsSync(effects) ? readFileSync(effects, 'utf8').trim().split('\n').filter(Boolean) : []);
    const ids = Array.from({ length: 1000 }, (_, i) => `run-${String(i).padStart(4, '0')}`);
    writeFileSync(gate, '');
    await Promise.all(ids.map((id) => requestRun(nc, 'work', id)));

    // The first 300 finish; then runs wait mid-run at the gate. Kill a replica that holds some: whichever does (on
    // a loaded machine one replica may have pulled every gated run before the other asked).
    const gated = path.join(dir, 'gated.log');
    const holder = () => {
      const text = existsSync(gated) ? readFileSync(gated, 'utf8') : '';
      return replicas.find((r) => text.includes(` ${r.proc.pid}\n`));
    };
    await waitFor(() => lines().length >= 300, { timeout: 20_000 });
    const victim = await waitFor(holder, { timeout: 20_000, message: 'a replica holds a run at the gate' });
    const survivor = replicas.find((r) => r !== victim) as Replica;
    expect(lines()).toHaveLength(300);
    victim.proc.kill('SIGKILL');
    await victim.exited;
    rmSync(gate);

    const terminal = () => new Set(events.of('job.succeeded').map((e) => e.event.data.runId));
    await waitFor(() => terminal().size === 1000, { timeout: 40_000, message: 'all 1000 runs finished' });

    const executed = lines().map((l) => l.split(' ')[0]);
    const counts = new Map<string, number>();
    for (const id of executed) counts.set(id, (counts.get(id) ?? 0) + 1);
    const doubled = [...counts].filter(([, n]) => n > 1);
    expect(doubled).toEqual([]);
    expect(counts.size).toBe(1000);
    expect(events.of('job.failed')).toHaveLength(0);
    // The victim's in-flight runs were redelivered and taken over by the survivor.
    expect(survivor.output()).toMatch(/taking over a run|redelivered run had finished/);

    // The stream holds exactly one terminal event per run (re-publishes are de-duplicated).
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info('VIGIL_JOBS', { subjects_filter: 'job.succeeded.work' });
    expect(info.state.subjects?.['job.succeeded.work']).toBe(1000);
  }, 60_000);
});
