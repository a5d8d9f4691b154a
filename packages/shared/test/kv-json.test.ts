import {
  decodeKvJson,
  isWrongRevision,
  type KvJsonDecision,
  KvTimeoutError,
  openKv,
  updateKvJson,
} from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type KV, type KvEntry, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let nats: TestServer;
let nc: NatsConnection;
let kv: KV;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  kv = await openKv(nc.jetstream(), 'kv_json_test', { history: 1 });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

interface Counter {
  n: number;
}

let keys = 0;
const freshKey = () => `k${++keys}`;

/** The bucket, with `get` and the writes replaced where a test says (another writer between read and write…). */
function wrapped(over: Partial<Pick<KV, 'get' | 'create' | 'update' | 'delete'>>): KV {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop in over) return over[prop as keyof typeof over];
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** The bucket as seen by a writer whose first read is followed at once by `interfere` (another replica's write). */
function racedAfterFirstRead(interfere: (key: string) => Promise<unknown>): KV {
  let first = true;
  return wrapped({
    get: async (key: string) => {
      const e = await kv.get(key);
      if (first) {
        first = false;
        await interfere(key);
      }
      return e;
    },
  });
}

/** Adds one to the counter; records what each decision saw. */
function increment(seen: Array<number | undefined>) {
  return (current: Counter | undefined): KvJsonDecision<Counter, number> => {
    seen.push(current?.n);
    const n = (current?.n ?? 0) + 1;
    return { next: { n }, result: n };
  };
}

const value = async (key: string) => decodeKvJson<Counter>(await kv.get(key));
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('updateKvJson (real NATS KV)', () => {
  it('creates when absent, updates at the revision read, and leaves the entry when the decision is undefined', async () => {
    const key = freshKey();
    expect(await updateKvJson(kv, key, increment([]))).toBe(1);
    expect(await updateKvJson(kv, key, increment([]))).toBe(2);
    const before = await kv.get(key);
    const left = await updateKvJson<Counter, string>(kv, key, (c) => ({ result: `saw ${c?.n}` }));
    expect(left).toBe('saw 2');
    expect((await kv.get(key))?.revision).toBe(before?.revision);
  });

  it('a write based on a stale read loses and is decided again on the fresh value', async () => {
    const key = freshKey();
    await kv.put(key, json({ n: 1 }));
    const seen: Array<number | undefined> = [];
    const raced = racedAfterFirstRead((k) => kv.put(k, json({ n: 100 })));
    expect(await updateKvJson(raced, key, increment(seen))).toBe(101);
    expect(seen).toEqual([1, 100]);
    expect(await value(key)).toEqual({ n: 101 });
  });

  it('a create that another writer beat is decided again on its value', async () => {
    const key = freshKey();
    const seen: Array<number | undefined> = [];
    const raced = racedAfterFirstRead((k) => kv.create(k, json({ n: 10 })));
    expect(await updateKvJson(raced, key, increment(seen))).toBe(11);
    expect(seen).toEqual([undefined, 10]);
  });

  it('concurrent writers each count once', async () => {
    const key = freshKey();
    const other = await connect({ servers: nats.url });
    try {
      const kv2 = await openKv(other.jetstream(), 'kv_json_test');
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => updateKvJson(i % 2 ? kv : kv2, key, increment([]), { attempts: 50 })),
      );
      expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(await value(key)).toEqual({ n: 12 });
    } finally {
      await other.close();
    }
  });

  it('over a delete marker: the value is absent, the write goes at the marker revision, a concurrent create wins', async () => {
    const key = freshKey();
    await kv.put(key, json({ n: 5 }));
    await kv.delete(key);
    expect((await kv.get(key))?.operation).toBe('DEL');
    expect(await updateKvJson(kv, key, increment([]))).toBe(1);

    await kv.delete(key);
    const seen: Array<number | undefined> = [];
    // another replica re-creates the key between this writer's read of the marker and its write
    const raced = racedAfterFirstRead((k) => kv.create(k, json({ n: 40 })));
    expect(await updateKvJson(raced, key, increment(seen))).toBe(41);
    expect(seen).toEqual([undefined, 40]);
    expect(await value(key)).toEqual({ n: 41 });

    // written at the marker read, not at whatever marker is there by then: a record created and deleted meanwhile
    // makes the write fail and the decision run again
    await kv.delete(key);
    const seenAgain: Array<number | undefined> = [];
    const churned = racedAfterFirstRead(async (k) => {
      await kv.create(k, json({ n: 70 }));
      await kv.delete(k);
    });
    expect(await updateKvJson(churned, key, increment(seenAgain))).toBe(1);
    expect(seenAgain).toEqual([undefined, undefined]);
  });

  it('null deletes at the revision read: a delete based on a stale read is decided again', async () => {
    const key = freshKey();
    await kv.put(key, json({ n: 1 }));
    const seen: Array<number | undefined> = [];
    const raced = racedAfterFirstRead((k) => kv.put(k, json({ n: 2 })));
    // delete only the record of n = 1: the newer one stays
    const removed = await updateKvJson<Counter, boolean>(raced, key, (c) => {
      seen.push(c?.n);
      return c?.n === 1 ? { next: null, result: true } : { result: false };
    });
    expect(removed).toBe(false);
    expect(seen).toEqual([1, 2]);
    expect(await value(key)).toEqual({ n: 2 });

    expect(await updateKvJson<Counter, boolean>(kv, key, () => ({ next: null, result: true }))).toBe(true);
    expect((await kv.get(key))?.operation).toBe('DEL');
    // nothing left to delete: no write (the marker stays as it is)
    const marker = await kv.get(key);
    expect(await updateKvJson<Counter, string>(kv, key, (c) => ({ next: null, result: `${c}` }))).toBe('undefined');
    expect((await kv.get(key))?.revision).toBe(marker?.revision);
  });

  it('past its attempts it throws the last conflict; a pause between attempts when asked', async () => {
    const key = freshKey();
    let n = 0;
    // every read is followed by another writer's write
    const alwaysRaced = wrapped({
      get: async (k: string) => {
        const e = await kv.get(k);
        await kv.put(k, json({ n: 1_000 + n++ }));
        return e;
      },
    });
    const pauses: number[] = [];
    const err = await updateKvJson(alwaysRaced, key, increment([]), {
      attempts: 3,
      backoffMs: (i) => {
        pauses.push(i);
        return 1;
      },
    }).catch((e: unknown) => e);
    expect(isWrongRevision(err)).toBe(true);
    expect(pauses).toEqual([0, 1]); // none after the last attempt
  });

  it('retries only what retryIf accepts (by default a lost compare-and-set)', async () => {
    const key = freshKey();
    let writes = 0;
    const flaky = wrapped({
      update: async (k: string, data: Uint8Array, rev: number) => {
        if (writes++ === 0) throw new Error('connection closed');
        return kv.update(k, data, rev);
      },
    });
    await kv.put(key, json({ n: 1 }));
    await expect(updateKvJson(flaky, key, increment([]))).rejects.toThrow('connection closed');
    writes = 0;
    expect(await updateKvJson(flaky, key, increment([]), { retryIf: () => true })).toBe(2);
  });

  it('bounds each call by timeoutMs and does not retry a timeout', async () => {
    const key = freshKey();
    const never = () => new Promise<never>(() => undefined);
    const started = Date.now();
    const slowRead = updateKvJson(wrapped({ get: never }), key, increment([]), { timeoutMs: 100, what: 'ledger' });
    await expect(slowRead).rejects.toThrow('ledger: NATS KV did not answer within 100ms');
    await expect(slowRead).rejects.toBeInstanceOf(KvTimeoutError);

    let decisions = 0;
    const slowWrite = updateKvJson(
      wrapped({ create: never }),
      key,
      (c: Counter | undefined) => {
        decisions++;
        return { next: { n: (c?.n ?? 0) + 1 }, result: undefined };
      },
      { timeoutMs: 100, retryIf: () => true },
    );
    await expect(slowWrite).rejects.toBeInstanceOf(KvTimeoutError);
    expect(decisions).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    // a bound that is not reached changes nothing
    expect(await updateKvJson(kv, key, increment([]), { timeoutMs: 5_000 })).toBe(1);
  });

  it('reads an empty or deleted entry as absent', () => {
    const entry = (operation: KvEntry['operation'], bytes: Uint8Array) =>
      ({ operation, value: bytes, length: bytes.length }) as KvEntry;
    expect(decodeKvJson(null)).toBeUndefined();
    expect(decodeKvJson(entry('DEL', new Uint8Array()))).toBeUndefined();
    expect(decodeKvJson(entry('PUT', new Uint8Array()))).toBeUndefined();
    expect(decodeKvJson(entry('PUT', json({ n: 3 })))).toEqual({ n: 3 });
  });
});
