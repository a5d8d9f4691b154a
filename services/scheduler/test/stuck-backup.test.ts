import { waitFor } from '@vigil/shared/testing';
import { DiscardPolicy } from 'nats';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

/**
 * Seed 003: a run that a runner started and never finished must not fail silently: `job.stuck` at its
 * timeout, and one backup run (trigger `backup`) for the targets without a success, whichever of `timeout`
 * and `backup.after` comes first. While the run is still `started` the backup check leaves it alone; the
 * `stuck` status change re-arms it.
 */
const jobs = (timeout: string, after: string) => `timezone: UTC
jobs:
  rep:
    schedule: "0 6 * * *"
    handler: report.daily
    targets: [acme, globex, initech]
    startDeadline: 1m
    timeout: ${timeout}
    backup: { after: ${after} }
`;
const MIN = 60_000;
const SLOT = new Date('2026-01-01T06:00:00Z').getTime();
const RUN_ID = `rep.${SLOT / 1000}`;
const iso = (ms: number) => new Date(ms).toISOString();

describe('a started run that never finishes: stuck at its timeout, then exactly one backup run', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  const runOf = (runId: string) =>
    waitFor(async () => {
      const r = await h!.api('GET', `/api/runs/${runId}`);
      return r.status === 200 ? r.body : undefined;
    });
  const backups = () => h!.events.of('job.requested.rep').filter((e) => e.event.data.trigger === 'backup');

  /** The 06:00 slot is requested and a runner starts it at once (and then goes silent). */
  async function startStuckRun(timeout: string, after: string): Promise<Harness> {
    h = await startHarness(jobs(timeout, after), '2026-01-01T05:59:30Z');
    await h.clock.set(SLOT);
    await waitFor(() => h!.events.of('job.requested.rep').find((e) => e.event.data.runId === RUN_ID));
    await runOf(RUN_ID);
    await h.runner('started', { runId: RUN_ID, job: 'rep', scheduledAt: iso(SLOT), startedAt: iso(SLOT) });
    await waitFor(async () => (await runOf(RUN_ID)).status === 'started');
    return h;
  }

  /**
   * Moves to the timeout and waits for the stuck verdict to be folded. The API reads the same live copy whose
   * changes the watchdogs observe, so once it says `stuck` the watchdogs have re-armed; advance(0) then runs
   * what is due now, as a real clock's setTimeout(0) would.
   */
  async function reachStuck(h: Harness, stuckAt: number): Promise<void> {
    await h.clock.set(stuckAt - 1_000);
    expect(h.events.of('job.stuck.rep')).toHaveLength(0);
    await h.clock.set(stuckAt);
    const [stuck] = await h.events.waitFor('job.stuck.rep');
    expect(stuck.event.data).toMatchObject({ runId: RUN_ID, status: 'stuck' });
    expect(stuck.event.time).toBe(iso(stuckAt));
    await waitFor(async () => (await runOf(RUN_ID)).status === 'stuck');
    await h.clock.advance(0);
  }

  /** One backup for the original run, for every target (none is known to have succeeded), never a second. */
  async function expectExactlyOneBackup(h: Harness, at: number): Promise<void> {
    const [backup] = await waitFor(() => (backups().length > 0 ? backups() : undefined));
    expect(backup.event.data).toMatchObject({
      runId: `${RUN_ID}.backup1`,
      job: 'rep',
      trigger: 'backup',
      status: 'requested',
      // the slot it backs up (its day), not the time it was asked for
      scheduledAt: iso(SLOT),
    });
    // no targets = every target of the job: the stuck run reported no success for any
    expect(backup.event.data.targets).toBeUndefined();
    expect(backup.event.data.reason).toMatch(/^backup for rep\.\d+: run stuck/);
    expect(backup.event.time).toBe(iso(at));
    expect(backup.headers['Nats-Msg-Id']).toBe(`${RUN_ID}.backup1`);
    await runOf(`${RUN_ID}.backup1`);

    // later changes of the original record re-arm the backup check: still no second backup
    await h.runner('failed', {
      runId: RUN_ID,
      job: 'rep',
      scheduledAt: iso(SLOT),
      startedAt: iso(SLOT),
      failures: [{ target: 'acme', error: 'finally gave up' }],
    });
    await waitFor(async () => (await runOf(RUN_ID)).status === 'failed');
    // the backup run itself (never started here) gets its own verdict, and no backup of its own
    await h.clock.set(at + MIN);
    await waitFor(() => h.events.of('job.missed.rep').find((e) => e.event.data.runId === `${RUN_ID}.backup1`));
    await waitFor(async () => (await runOf(`${RUN_ID}.backup1`)).status === 'missed');
    await h.clock.advance(2 * 3_600_000);
    expect(backups()).toHaveLength(1);
    expect(h.events.of('job.stuck.rep')).toHaveLength(1);
  }

  it('backup.after before the timeout: nothing at backup.after (still running), the backup comes with stuck', async () => {
    const h = await startStuckRun('20m', '10m');
    // the check at backup.after sees a run in progress and leaves it alone (a backup published now would
    // carry time 06:10; expectExactlyOneBackup requires the only one to carry the stuck time)
    await h.clock.set(SLOT + 10 * MIN);
    expect(backups()).toHaveLength(0);
    expect(h.events.of('job.stuck.rep')).toHaveLength(0);

    await reachStuck(h, SLOT + 20 * MIN);
    await expectExactlyOneBackup(h, SLOT + 20 * MIN);
  });

  it('backup.after after the timeout: stuck at the timeout, the backup at backup.after', async () => {
    const h = await startStuckRun('20m', '30m');
    await reachStuck(h, SLOT + 20 * MIN);
    await h.clock.set(SLOT + 30 * MIN - 1_000);
    expect(backups()).toHaveLength(0);
    await h.clock.set(SLOT + 30 * MIN);
    await expectExactlyOneBackup(h, SLOT + 30 * MIN);
  });

  it('backup.after equal to the timeout: stuck and one backup at that instant', async () => {
    const h = await startStuckRun('20m', '20m');
    await reachStuck(h, SLOT + 20 * MIN);
    await expectExactlyOneBackup(h, SLOT + 20 * MIN);
  });
});

describe('a backup whose publish failed is published on the retry', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('the stream refuses the backup once; the retry 1 s later requests it', async () => {
    h = await startHarness(jobs('20m', '30m'), '2026-01-01T05:59:30Z');
    await h.clock.set(SLOT);
    await waitFor(() => h!.events.of('job.requested.rep').find((e) => e.event.data.runId === RUN_ID));
    await h.runner('failed', {
      runId: RUN_ID,
      job: 'rep',
      scheduledAt: iso(SLOT),
      startedAt: iso(SLOT),
      failures: [{ target: 'acme', error: 'boom' }],
    });
    await waitFor(async () => (await h!.api('GET', `/api/runs/${RUN_ID}`)).body.status === 'failed');

    // the broker refuses new job events (stream full, discard new); KV still answers
    const jsm = await h.nc.jetstreamManager();
    const { config } = await jsm.streams.info('VIGIL_JOBS');
    const { state } = await jsm.streams.info('VIGIL_JOBS');
    await jsm.streams.update('VIGIL_JOBS', { ...config, max_msgs: state.messages, discard: DiscardPolicy.New });
    const backupAt = SLOT + 30 * MIN;
    await h.clock.set(backupAt);
    // the failed publish (the client tries for a few seconds of real time) arms the watchdog's retry, 1 s later
    await waitFor(() => h!.clock.nextTimerAt() === backupAt + 1_000, { timeout: 20_000 });
    // core subscribers saw the refused attempts; the stream (what the runners consume) holds no backup
    const stored = async () =>
      (await jsm.streams.info('VIGIL_JOBS', { subjects_filter: 'job.requested.rep' })).state.subjects;
    expect(await stored()).toEqual({ 'job.requested.rep': 1 });

    await jsm.streams.update('VIGIL_JOBS', config);
    await h.clock.set(backupAt + 1_000);
    const backup = await waitFor(async () => {
      const r = await h!.api('GET', `/api/runs/${RUN_ID}.backup1`);
      return r.status === 200 ? r.body : undefined;
    });
    expect(backup).toMatchObject({ trigger: 'backup', status: 'requested', targets: ['acme'] });
    expect(backup.requestedAt).toBe(iso(backupAt + 1_000));
    expect(await stored()).toEqual({ 'job.requested.rep': 2 });
  }, 30_000);
});
