import { createLogger, createRegistry, systemClock, vigilMetrics } from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alert.js';
import { DedupeStore } from '../../src/dedupe-store.js';
import type { Dispatcher } from '../../src/dispatcher.js';
import { Notifier } from '../../src/notifier.js';
import { runData } from './harness.js';

/**
 * Failure and recovery events of a job come in on separate consumers. When the recovery is handled while a failure
 * of the same job is between its first look at the resolution mark and its send, the failure email must still say
 * "(already resolved)": otherwise it lands after the RESOLVED email and reads as the job being broken again.
 */
describe('a failure alert racing the recovery that ends it (real NATS KV)', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('is marked already resolved when the recovery was handled after its first check, before its send', async () => {
    const kv = await nc.jetstream().views.kv('vigil_notified_race', { ttl: 60_000 });
    const sent: Alert[] = [];
    const dispatcher = {
      deliver: async (d: { id: string; alert: Alert }) => {
        sent.push(d.alert);
        return { channel: 'email' };
      },
    } as unknown as Dispatcher;
    const log = createLogger({ service: 'notifier', level: 'silent' });
    const failedAt = new Date(Date.now() - 60_000).toISOString();
    const failure = { id: 'ev-failed-1', time: failedAt, data: runData('ledger-sync', { status: 'missed' }) };
    const recovery = {
      id: 'ev-recovered-1',
      time: new Date().toISOString(),
      data: runData('ledger-sync', { status: 'recovered', error: undefined }),
    };

    let notifier: Notifier | undefined;
    let interleaved = false;
    /** The recovery is handled completely right after the failure's first look at the mark. */
    class RacingDedupe extends DedupeStore {
      override async resolvedAt(scope: string): Promise<number | undefined> {
        const at = await super.resolvedAt(scope);
        if (!interleaved) {
          interleaved = true;
          await notifier?.handle('job.recovered.ledger-sync', recovery, log);
        }
        return at;
      }
    }
    notifier = new Notifier({
      dedupe: new RacingDedupe(kv, Date.now),
      dispatcher,
      clock: systemClock,
      intervalMs: 0,
      metrics: vigilMetrics(createRegistry()),
    });

    await notifier.handle('job.missed.ledger-sync', failure, log);

    expect(interleaved).toBe(true);
    expect(sent.map((a) => a.headline)).toEqual([
      expect.stringMatching(/recovered/),
      expect.stringMatching(/\(already resolved\)$/),
    ]);
    expect(sent[1].facts).toContainEqual(['Already resolved at', recovery.time]);
  });
});
