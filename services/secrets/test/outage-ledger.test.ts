import { openKv } from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type KV, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvOutageLedger, OUTAGES_BUCKET, outageKey } from '../src/outage-ledger.js';

let nats: TestServer;
let nc: NatsConnection;
let kv: KV;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  kv = await openKv(nc.jetstream(), OUTAGES_BUCKET, { history: 1 });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

// Two replicas (or a replica and its restarted successor) share one record per failing secret, written with
// compare-and-set: one outage start, one stale-served announcement, one recovery.
describe('KvOutageLedger (real NATS KV)', () => {
  it('two instances agree on one start and exactly one announcement; the recovery removes the record once', async () => {
    const a = new KvOutageLedger(kv);
    const b = new KvOutageLedger(kv);
    expect(await a.begin('db-password', 1_000)).toEqual({ since: 1_000, announced: false });
    // a later instance joins the outage that is there
    expect(await b.begin('db-password', 5_000)).toEqual({ since: 1_000, announced: false });

    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).announce('db-password', 1_000)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await b.begin('db-password', 9_000)).toEqual({ since: 1_000, announced: true });

    const ends = await Promise.all([a.end('db-password'), b.end('db-password')]);
    expect(ends.filter(Boolean)).toEqual([{ since: 1_000, announced: true }]);
    // the next outage starts afresh
    expect(await a.begin('db-password', 20_000)).toEqual({ since: 20_000, announced: false });
    await a.end('db-password');
  });

  it('a record left by a failed removal is replaced, not joined; an ended outage is not announced; a stale end spares a newer outage', async () => {
    const l = new KvOutageLedger(kv);
    // an old record whose removal failed (the provider answered at 2_000, after it began at 1_000)
    expect(await l.begin('left', 1_000)).toEqual({ since: 1_000, announced: false });
    expect(await l.announce('left', 1_000)).toBe(true);
    expect(await l.begin('left', 5_000, 2_000)).toEqual({ since: 5_000, announced: false });
    expect(await l.announce('left', 5_000)).toBe(true); // the new outage is announced again

    // the outage ended (record removed) before the announcement was claimed: nothing announced, no record recreated
    expect(await l.end('left', 5_000)).toEqual({ since: 5_000, announced: true });
    expect(await l.announce('left', 5_000)).toBe(false);
    expect(await l.end('left')).toBeUndefined();

    // a replica still holding the outage of 1_000 sees the recovery late: the newer outage's record stays
    await l.begin('left', 9_000);
    expect(await l.end('left', 1_000)).toBeUndefined();
    expect(await l.begin('left', 9_500)).toEqual({ since: 9_000, announced: false });
  });

  it('holds AWS-style names (/ _ + = . @ -) as valid, distinct keys', async () => {
    const l = new KvOutageLedger(kv);
    const names = ['team/app_key+v2=x.y@z-1', 'team/app_key+v2=x.y@z-2', '.dot', 'a..b', 'a=2B'];
    for (const [i, n] of names.entries()) await l.begin(n, i);
    for (const [i, n] of names.entries()) expect(await l.end(n)).toEqual({ since: i, announced: false });
    expect(outageKey('a+b')).not.toBe(outageKey('a=2Bb'));
    expect(outageKey('db-password')).toBe('secret.db-password');
  });

  it('keeps the warm-cycle flag across instances; of two instances ending it at once, one reports the recovery', async () => {
    const a = new KvOutageLedger(kv);
    const b = new KvOutageLedger(kv);
    expect(await b.warmFailing()).toBe(false);
    await a.markWarmFailing();
    await b.markWarmFailing();
    expect(await b.warmFailing()).toBe(true);
    const ended = await Promise.all([a.endWarmFailing(), b.endWarmFailing(), a.endWarmFailing()]);
    expect(ended.filter(Boolean)).toHaveLength(1);
    expect(await a.warmFailing()).toBe(false);
    expect(await b.endWarmFailing()).toBe(false);
  });

  it('a NATS that does not answer fails fast instead of holding a request', async () => {
    const other = await startNats();
    const nc2 = await connect({ servers: other.url });
    const kv2 = await openKv(nc2.jetstream(), OUTAGES_BUCKET);
    const l = new KvOutageLedger(kv2, { timeoutMs: 300 });
    await other.stop();
    const started = Date.now();
    await expect(l.begin('x', 1)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
    await nc2.close().catch(() => undefined);
  });
});
