import type { ManualClock } from '@vigil/shared';
import { startInstanceWithBreaker, waitFor } from '@vigil/shared/testing';
import { startNotifierService } from '../../src/service.js';
import type { WatchdogRound } from '../../src/watchdog.js';
import { type Harness, notifierEnv, startHarness } from './harness.js';

// WATCHDOG_DOWN_AFTER keeps its default (2m): a round every 30 s, on a ManualClock, so no test waits minutes.
export const INTERVAL = 30_000;

/** One notifier replica's watchdog rounds, as told by `onRound`. */
export type Replica = { rounds: WatchdogRound[]; onRound: (r: WatchdogRound) => void };

export function replica(): Replica {
  const rounds: WatchdogRound[] = [];
  return { rounds, onRound: (r) => void rounds.push(r) };
}

/** Moves the clock one interval and waits until every replica has finished the round that let run. */
export async function round(clock: ManualClock, replicas: Replica[]): Promise<WatchdogRound[]> {
  const before = replicas.map((r) => r.rounds.length);
  await clock.advance(INTERVAL);
  await waitFor(() => replicas.every((r, i) => r.rounds.length > before[i]), {
    timeout: 15_000,
    message: 'watchdog round',
  });
  return replicas.map((r) => r.rounds[r.rounds.length - 1]);
}

export async function rounds(clock: ManualClock, replicas: Replica[], n: number): Promise<WatchdogRound[][]> {
  const all: WatchdogRound[][] = [];
  for (let i = 0; i < n; i++) all.push(await round(clock, replicas));
  return all;
}

export type NotifierService = Awaited<ReturnType<typeof startNotifierService>>;

/** The harness's notifier and a second replica on the same servers and clock; their rounds go to `a` and `b`. */
export async function startTwoReplicas(
  clock: ManualClock,
  a: Replica,
  b: Replica,
): Promise<{ h: Harness; second: NotifierService }> {
  const h = await startHarness({}, clock, { watchdog: { onRound: a.onRound } });
  const second = await startNotifierService({
    env: notifierEnv(h),
    clock,
    handleSignals: false,
    watchdog: { onRound: b.onRound },
  });
  return { h, second };
}

/** A real Vigil service instance (runService) answering `vigil.health.<service>`, as the service would. */
export const startFake = (natsUrl: string, service: string) =>
  startInstanceWithBreaker({ natsUrl, service, breakerName: 'upstream' });

export async function watchdogKeys(h: Harness): Promise<string[]> {
  const kv = await h.nc.jetstream().views.kv('vigil_notified');
  const keys: string[] = [];
  for await (const k of await kv.keys()) if (k.startsWith('watchdog_')) keys.push(k);
  return keys.sort();
}

/** The watchdog's record of a service, as stored in KV. */
export async function watchRecord(h: Harness, service: string): Promise<{ text: string; value: unknown }> {
  const kv = await h.nc.jetstream().views.kv('vigil_notified');
  const e = await kv.get(`watchdog_${service}`);
  const text = e ? e.string() : '';
  return { text, value: text ? JSON.parse(text) : undefined };
}
