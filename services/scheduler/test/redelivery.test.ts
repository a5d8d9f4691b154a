import { randomUUID } from 'node:crypto';
import { waitFor } from '@vigil/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const JOBS = `timezone: UTC
jobs:
  daily:
    schedule: "0 * * * *"
    handler: report.daily
    targets: [acme, globex, initech]
    concurrency: forbid
    startDeadline: 2m
    timeout: 30m
`;
const at = (s: string) => new Date(s).getTime();
const iso = (ms: number) => new Date(ms).toISOString();

/** Every job.* event published so far folded by the history consumer (handler done, acked). */
async function historyIdle(h: Harness): Promise<void> {
  const jsm = await h.nc.jetstreamManager();
  await waitFor(async () => {
    const info = await jsm.consumers.info('VIGIL_JOBS', 'scheduler-history');
    return info.num_pending === 0 && info.num_ack_pending === 0;
  });
}

describe('an event delivered more than once is folded into the run history once', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('the same CloudEvent stored twice (another msg-id, past the duplicate window) adds one history entry', async () => {
    h = await startHarness(JOBS, '2026-01-01T00:59:00Z');
    const runId = '01M94DTSEKCCCCCCCCCCCCCCCC';
    const data = {
      runId,
      job: 'daily',
      attempt: 1,
      trigger: 'manual' as const,
      scheduledAt: iso(at('2026-01-01T00:59:00Z')),
    };
    const time = new Date(h.clock.now());
    for (const [verb, extra] of [
      ['requested', {}],
      ['started', { startedAt: time.toISOString() }],
      ['succeeded', { startedAt: time.toISOString(), durationMs: 40 }],
    ] as const) {
      const id = randomUUID();
      // first as published, then the same event again under another msg-id (as a broker that lost its duplicate
      // window, or a publisher retrying after the window, stores it): the stream holds two copies of one event
      for (const msgId of [id, `again.${id}`]) {
        await h.bus.publish(`job.${verb}.daily`, { ...data, status: verb, ...extra }, { id, msgId, time });
      }
      await waitFor(async () => (await h!.api('GET', `/api/runs/${runId}`)).body.status === verb);
      await historyIdle(h);
    }
    const rec = (await h.api('GET', `/api/runs/${runId}`)).body;
    expect(rec.history.map((e: { status: string }) => e.status)).toEqual(['requested', 'started', 'succeeded']);
    expect(rec.status).toBe('succeeded');
    // the stream does hold both copies of each
    const jsm = await h.nc.jetstreamManager();
    expect((await jsm.streams.info('VIGIL_JOBS')).state.messages).toBeGreaterThanOrEqual(6);
    const state = (await (await h.nc.jetstream().views.kv('vigil_jobs')).get('daily'))?.json() as {
      activeRunIds?: string[];
      lastRunId?: string;
    };
    expect(state.activeRunIds ?? []).not.toContain(runId);
    expect(state.lastRunId).toBe(runId);
  });
});
