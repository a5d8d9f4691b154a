import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManualClock } from '@vigil/shared';
import { collectEvents, waitFor } from '@vigil/shared/testing';
import { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LKG_KEY_PREFIX } from '../src/lkg-store.js';
import { OUTAGES_BUCKET } from '../src/outage-ledger.js';
import { capturedLogLines, rawGet, type Stack, startService, startStack, stopStack } from './helpers.js';

// The live walkthrough (dev stack, SECRETS_PROVIDER=file): the secrets file moved away (ENOENT), a key deleted,
// the service killed and restarted in the middle of the outage. Real NATS (KV, events), real Redis (sealed
// last-known-good copies), the file provider on a real temp file.
let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  ({ stack, nc } = await startStack());
});

afterAll(async () => {
  await stopStack(stack, nc);
  // no secret value in any log line of this run
  expect(capturedLogLines.join('\n')).not.toContain('File-7c1d');
});

function secretsFile(values: Record<string, string>): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'vigil-secrets-outage-')), 'secrets.json');
  writeFileSync(file, JSON.stringify(values));
  return file;
}

async function status(): Promise<Array<Record<string, any>>> {
  return JSON.parse(new TextDecoder().decode((await nc.request('secrets.status', undefined, { timeout: 2_000 })).data));
}

/** The instance at `url` has answered `name` stale at least once (counted once its announcement was decided). */
async function servedStale(url: string, name: string): Promise<boolean> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return new RegExp(`vigil_secrets_stale_served_total\\{name="${name}"\\} [1-9]`).test(metrics);
}

async function outageKeys(): Promise<string[]> {
  const kv = await nc.jetstream().views.kv(OUTAGES_BUCKET, { bindOnly: true });
  const keys: string[] = [];
  for await (const k of await kv.keys('secret.>')) keys.push(k);
  return keys;
}

describe('file provider outage across a restart (real NATS KV, Redis, temp file)', () => {
  it('a restarted instance continues the outage: no second stale-served, recovery measured from the first failure', async () => {
    const names = ['ra-key', 'rb-key', 'rc-key'];
    const file = secretsFile(Object.fromEntries(names.map((n) => [n, `File-7c1d-${n}`])));
    const env = {
      SECRETS_PROVIDER: 'file',
      SECRETS_FILE: file,
      SECRET_NAMES: names.join(','),
      SECRETS_CACHE_KEY: randomBytes(32).toString('base64'),
      SECRETS_TTL: '1m',
      SECRETS_WARM_INTERVAL: '30m',
      SECRETS_BREAKER_THRESHOLD: '50',
    };
    const events = collectEvents(nc, 'secrets.>');
    const redis = new Redis(stack.redis.url);
    const t0 = Date.now();
    const first = await startService(stack, env, { clock: new ManualClock(t0) });
    let second: Awaited<ReturnType<typeof startService>> | undefined;
    try {
      await events.waitFor('secrets.refreshed');
      for (const n of names) await waitFor(() => redis.get(`${LKG_KEY_PREFIX}${n}`));

      renameSync(file, `${file}.moved`); // ENOENT
      await first.clock.advance(2 * 60_000); // TTL gone: the next get asks the file, which is not there
      const firstFailureAt = t0 + 2 * 60_000;
      for (const n of names) expect((await rawGet(nc, n)).body).toMatchObject({ stale: true, ageSeconds: 120 });
      await events.waitFor('secrets.stale-served', 3);
      const stale = events.of('secrets.stale-served')[0].event.data;
      expect(stale.error.message).toContain(file);
      // status names the real error and the file
      const before = (await status()).find((r) => r.name === 'ra-key');
      expect(before?.lastError).toMatchObject({
        type: 'ENOENT',
        message: expect.stringContaining(`${file} does not exist`),
      });
      expect((await outageKeys()).sort()).toEqual(names.map((n) => `secret.${n}`));

      // kill and restart 3 minutes later, the file still missing
      await first.svc.stop();
      second = await startService(stack, env, { clock: new ManualClock(t0 + 5 * 60_000) });
      // its first warm meets the outage: the CRITICAL event names the file, not only "ENOENT"
      const [failed] = await events.waitFor('secrets.refresh-failed');
      expect(failed.event.data).toMatchObject({ severity: 'CRITICAL', total: 3, refreshed: 0, cached: true });
      expect(failed.event.data.error).toMatchObject({ type: 'ENOENT', class: 'transient' });
      expect(failed.event.data.error.message).toContain(`ENOENT: secrets file ${file} does not exist`);
      expect(failed.event.data.error.message).toContain('3 of 3 secrets failed to refresh');
      for (const f of failed.event.data.failed) expect(f).toMatchObject({ class: 'transient', cached: true });

      for (const n of names) {
        expect((await rawGet(nc, n)).body).toMatchObject({ stale: true, source: 'last-known-good' });
      }
      // announced once per secret per outage: the restart announces nothing again. Each stale answer is counted
      // once its announcement was decided (in the background, against the outage record); an announcement then
      // still travels through the broker, and "none came" has no event to wait for: a short bounded wait.
      const restarted = second;
      await waitFor(async () => {
        for (const n of names) if (!(await servedStale(restarted.svc.url, n))) return false;
        return true;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(events.of('secrets.stale-served')).toHaveLength(3);

      renameSync(`${file}.moved`, file);
      await second.clock.advance(2 * 60_000 + 17_000); // recovery at t0 + 7 min 17 s
      for (const n of names) await rawGet(nc, n); // each starts its background call
      const recovered = await waitFor(() => {
        const r = events.of('secrets.refreshed').filter((e) => e.event.data.recovered === true);
        return r.length >= 3 ? r : undefined;
      });
      const downFor = (t0 + 7 * 60_000 + 17_000 - firstFailureAt) / 1000;
      expect(recovered.map((e) => [e.event.data.names[0], e.event.data.downForSeconds]).sort()).toEqual(
        names.map((n) => [n, downFor]),
      );
      expect(downFor).toBe(317); // from the first failed call before the restart, not from the restart
      for (const n of names) expect((await rawGet(nc, n)).body).toMatchObject({ stale: false, source: 'file' });
      // cleared on recovery
      await waitFor(async () => ((await outageKeys()).length === 0 ? true : undefined));
    } finally {
      events.stop();
      redis.disconnect();
      await first.svc.stop();
      await second?.svc.stop();
    }
  });

  it('a restart after the provider came back reports the recovery of the outage it did not see begin', async () => {
    const file = secretsFile({ 'back-key': 'File-7c1d-back' });
    const env = {
      SECRETS_PROVIDER: 'file',
      SECRETS_FILE: file,
      SECRET_NAMES: 'back-key',
      SECRETS_CACHE_KEY: randomBytes(32).toString('base64'),
      SECRETS_TTL: '1m',
      SECRETS_WARM_INTERVAL: '30m',
    };
    const events = collectEvents(nc, 'secrets.>');
    const t0 = Date.now();
    const first = await startService(stack, env, { clock: new ManualClock(t0) });
    let second: Awaited<ReturnType<typeof startService>> | undefined;
    try {
      await events.waitFor('secrets.refreshed');
      renameSync(file, `${file}.moved`);
      await first.clock.advance(30 * 60_000); // the warm cycle fails
      await events.waitFor('secrets.refresh-failed');
      expect((await rawGet(nc, 'back-key')).body).toMatchObject({ stale: true });
      await events.waitFor('secrets.stale-served');
      await first.svc.stop();

      renameSync(`${file}.moved`, file); // back while no instance runs
      const before = events.of('secrets.refreshed').length;
      second = await startService(stack, env, { clock: new ManualClock(t0 + 40 * 60_000) });
      const recoveries = await waitFor(() => {
        const r = events
          .of('secrets.refreshed')
          .slice(before)
          .filter((e) => e.event.data.recovered === true);
        return r.length >= 2 ? r : undefined;
      });
      // the warm cycle's recovery (all its names) and the stale secret's, measured from its first failed call
      expect(recoveries.find((e) => e.event.data.total === 1)?.event.data.names).toEqual(['back-key']);
      expect(recoveries.find((e) => e.event.data.downForSeconds !== undefined)?.event.data).toMatchObject({
        names: ['back-key'],
        downForSeconds: 10 * 60,
      });
    } finally {
      events.stop();
      await first.svc.stop();
      await second?.svc.stop();
    }
  });

  it('two replicas serving the same stale secret announce it once', async () => {
    const file = secretsFile({ 'rep-key': 'File-7c1d-rep' });
    const env = {
      SECRETS_PROVIDER: 'file',
      SECRETS_FILE: file,
      SECRET_NAMES: 'rep-key',
      SECRETS_TTL: '1m',
      SECRETS_WARM_INTERVAL: '30m',
      SECRETS_BREAKER_THRESHOLD: '50',
    };
    const events = collectEvents(nc, 'secrets.stale-served');
    const t0 = Date.now();
    const a = await startService(stack, env, { clock: new ManualClock(t0) });
    const b = await startService(stack, env, { clock: new ManualClock(t0) });
    try {
      expect((await rawGet(nc, 'rep-key')).body).toMatchObject({ stale: false });
      renameSync(file, `${file}.moved`);
      await Promise.all([a.clock.advance(2 * 60_000), b.clock.advance(2 * 60_000)]);
      // requests of one queue group: keep asking until both replicas have answered one stale
      await waitFor(async () => {
        expect((await rawGet(nc, 'rep-key')).body).toMatchObject({ stale: true });
        return (await servedStale(a.svc.url, 'rep-key')) && (await servedStale(b.svc.url, 'rep-key'))
          ? true
          : undefined;
      });
      // both have decided whether to announce; a second announcement would still be on its way through the
      // broker, and "none came" has no event to wait for: a short bounded wait
      await new Promise((r) => setTimeout(r, 300));
      expect(events.of('secrets.stale-served')).toHaveLength(1);
    } finally {
      events.stop();
      renameSync(`${file}.moved`, file);
      await a.svc.stop();
      await b.svc.stop();
    }
  });

  it('status names the provider error behind an open breaker, not VIGIL_E_BREAKER_OPEN', async () => {
    const file = secretsFile({ 'brk-key': 'File-7c1d-brk' });
    const events = collectEvents(nc, 'breaker.>');
    const { svc, clock } = await startService(stack, {
      SECRETS_PROVIDER: 'file',
      SECRETS_FILE: file,
      SECRET_NAMES: 'brk-key',
      SECRETS_TTL: '1m',
      SECRETS_BREAKER_THRESHOLD: '2',
      SECRETS_BREAKER_RESET: '1m',
    });
    try {
      expect((await rawGet(nc, 'brk-key')).body).toMatchObject({ stale: false });
      renameSync(file, `${file}.moved`);
      await clock.advance(2 * 60_000);
      expect((await rawGet(nc, 'brk-key')).body.stale).toBe(true); // failure 1
      await clock.advance(2_000);
      await rawGet(nc, 'brk-key'); // failure 2 in the background: the breaker opens
      await events.waitFor('breaker.opened.secrets.secrets-provider');
      await clock.advance(2_000);
      await rawGet(nc, 'brk-key'); // refused by the open breaker
      const row = await waitFor(async () => {
        const r = (await status()).find((s) => s.name === 'brk-key');
        return r?.lastError?.message.includes('breaker') ? r : undefined;
      });
      expect(row.lastError.type).toBe('ENOENT');
      expect(row.lastError.message).toContain(`not asked: the provider breaker is open`);
      expect(row.lastError.message).toContain(`${file} does not exist`);
      expect(JSON.stringify(row)).not.toContain('VIGIL_E_BREAKER_OPEN');
      expect(row).toMatchObject({ cached: true, stale: true });
    } finally {
      events.stop();
      renameSync(`${file}.moved`, file);
      await svc.stop();
    }
  });

  it('a deleted key is a permanent failure: evicted, 404, listed as not found; a wrong name is not listed', async () => {
    const file = secretsFile({ 'del-keep': 'File-7c1d-keep', 'del-gone': 'File-7c1d-gone' });
    const events = collectEvents(nc, 'secrets.>');
    const { svc, clock } = await startService(stack, {
      SECRETS_PROVIDER: 'file',
      SECRETS_FILE: file,
      SECRET_NAMES: 'del-keep,del-gone',
      SECRETS_WARM_INTERVAL: '30m',
    });
    try {
      await events.waitFor('secrets.refreshed'); // the first warm, at start
      expect((await rawGet(nc, 'del-gone')).body).toMatchObject({ value: 'File-7c1d-gone', stale: false });
      writeFileSync(file, JSON.stringify({ 'del-keep': 'File-7c1d-keep' }));
      await clock.advance(30 * 60_000); // the warm cycle meets the deleted key
      const [ev] = await events.waitFor('secrets.refresh-failed');
      expect(ev.event.data).toMatchObject({ severity: 'WARNING', total: 2, refreshed: 1, names: ['del-gone'] });
      expect(ev.event.data.cached).toBe(false);
      expect(ev.event.data.error).toMatchObject({ type: 'ResourceNotFoundException', class: 'permanent' });
      expect(ev.event.data.error.message).toContain(file);
      expect(ev.event.data.failed).toEqual([
        {
          name: 'del-gone',
          type: 'ResourceNotFoundException',
          class: 'permanent',
          cached: false,
          error: expect.stringMatching(/does not exist in the file provider .*secrets\.get answers 404/),
        },
      ]);
      expect((await rawGet(nc, 'del-gone')).code).toBe('404');

      // a lookup of a name nobody configured
      expect((await rawGet(nc, 'does-not-exist')).code).toBe('404');
      const rows = await status();
      expect(rows.map((r) => r.name)).toEqual(['del-gone', 'del-keep']);
      expect(rows[0]).toMatchObject({
        cached: false,
        stale: false,
        notFound: true,
        lastError: { type: 'ResourceNotFoundException' },
      });
    } finally {
      events.stop();
      await svc.stop();
    }
  });
});
