import { describe, expect, it } from 'vitest';
import { noteBreakerRound } from '../../src/breaker-gone.js';
import {
  type BreakerIncident,
  lateBreakerNotice,
  noteBreakerAlerted,
  noteBreakerClosed,
  noteBreakerOpened,
} from '../../src/breaker-incident.js';
import { MAX_INSTANCES, openCount } from '../../src/breaker-instances.js';

const T = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const ref = { service: 'webhooks', name: 'https://partner.example' };

const opened = (cur: BreakerIncident | undefined, at: number, instance?: string) =>
  noteBreakerOpened(cur, { ...ref, at, instance }) ?? cur;
const closed = (cur: BreakerIncident | undefined, at: number, id: string, instance?: string) =>
  noteBreakerClosed(cur, { id, at, instance });

describe('a breaker open on several instances (pure transitions)', () => {
  it('the opening ends with the close that leaves no instance with it open', () => {
    let inc = opened(undefined, T, 'a');
    inc = noteBreakerAlerted(inc, { ...ref, at: T, id: 'open-a', instance: 'a' }).next;
    inc = opened(inc, T + MIN, 'b');
    expect(inc).toMatchObject({ since: T, lastOpenedAt: T + MIN, alerts: { count: 1 } });
    const a = closed(inc, T + 2 * MIN, 'close-a', 'a');
    expect(a.result.action).toBe('still-open');
    expect(a.next?.closed).toBeUndefined();
    // the redelivery of a's close, or a close of an instance whose opening is not known: nothing changes
    expect(closed(a.next, T + 2 * MIN, 'close-a', 'a')).toEqual({ result: { action: 'still-open' } });
    expect(closed(a.next, T + 2 * MIN, 'close-x', 'x')).toEqual({ result: { action: 'still-open' } });
    const b = closed(a.next, T + 5 * MIN, 'close-b', 'b');
    expect(b.result.action).toBe('notice');
    expect(b.next).toMatchObject({ closed: { id: 'close-b', at: T + 5 * MIN }, notice: 'close-b' });
    expect(closed(b.next, T + 6 * MIN, 'close-a2', 'a').result.action).toBe('already-closed');
  });

  it("out of order, per instance: a close older than that instance's latest opening; an opening older than its close", () => {
    let inc = opened(undefined, T, 'a');
    inc = opened(inc, T + MIN, 'b');
    inc = opened(inc, T + 4 * MIN, 'a');
    expect(closed(inc, T + 3 * MIN, 'stale', 'a').result.action).toBe('reopened');
    inc = closed(inc, T + 2 * MIN, 'close-b', 'b').next;
    // b's opening before its close, delivered late: it belongs to what b closed
    expect(noteBreakerOpened(inc, { ...ref, at: T + 90_000, instance: 'b' })).toBeUndefined();
    const end = closed(inc, T + 5 * MIN, 'close-a', 'a');
    expect(end.result.action).toBe('not-alerted');
    expect(end.next?.closed?.at).toBe(T + 5 * MIN);
  });

  it('events without an instance, and records from before instances were kept, are one anonymous instance', () => {
    let inc = opened(undefined, T);
    inc = opened(inc, T + MIN);
    expect(closed(inc, T + 30_000, 'stale').result.action).toBe('reopened');
    expect(closed(inc, T + 2 * MIN, 'c').next?.closed?.id).toBe('c');
    const legacy: BreakerIncident = { ...ref, since: T, lastOpenedAt: T + MIN };
    expect(closed(legacy, T + 30_000, 'stale').result.action).toBe('reopened');
    expect(closed(legacy, T + 2 * MIN, 'c').result.action).toBe('not-alerted');
    // a named instance opening it too: the anonymous one's close no longer ends it alone
    const mixed = opened(legacy, T + 90_000, 'a');
    expect(closed(mixed, T + 2 * MIN, 'c').result.action).toBe('still-open');
  });

  it('an opened alert whose opening was not recorded still counts its instance', () => {
    let inc = opened(undefined, T, 'a');
    inc = noteBreakerAlerted(inc, { ...ref, at: T + MIN, id: 'open-b', instance: 'b' }).next;
    expect(closed(inc, T + 2 * MIN, 'close-a', 'a').result.action).toBe('still-open');
  });

  it('bounded: past MAX_INSTANCES closed instances are forgotten first, then new ones are not followed', () => {
    let inc = opened(undefined, T, 'i0');
    for (let i = 1; i < MAX_INSTANCES; i++) inc = opened(inc, T + i, `i${i}`);
    inc = closed(inc, T + MIN, 'c0', 'i0').next;
    inc = opened(inc, T + 2 * MIN, 'new');
    expect(Object.keys(inc?.instances ?? {})).toHaveLength(MAX_INSTANCES);
    expect(inc?.instances?.i0).toBeUndefined();
    const full = opened(inc, T + 3 * MIN, 'one-too-many');
    expect(full?.instances?.['one-too-many']).toBeUndefined();
    expect(full?.lastOpenedAt).toBe(T + 3 * MIN);
    expect(openCount(full?.instances ?? {})).toBe(MAX_INSTANCES);
  });

  it('an instance that never closes (gone): the watchdog rounds still end the opening, and the notice says so', () => {
    let inc = opened(undefined, T, 'a');
    inc = noteBreakerAlerted(inc, { ...ref, at: T, id: 'open-a', instance: 'a' }).next;
    inc = opened(inc, T + MIN, 'b');
    inc = closed(inc, T + 2 * MIN, 'close-b', 'b').next;
    const rules = { marginMs: 5_000, confirmMs: 30_000 };
    const sighting = { open: false as const, instances: 1, ids: ['c'] };
    inc = noteBreakerRound(inc, { at: T + 3 * MIN, sighting }, rules).next;
    const end = noteBreakerRound(inc, { at: T + 4 * MIN, sighting }, rules);
    expect(end.result.action).toBe('notice');
    const notice = lateBreakerNotice(end.next as BreakerIncident);
    expect(notice.body).toMatch(
      /^Not every instance that had it open sent breaker.closed, but no instance of webhooks/,
    );
    expect(notice.facts).toContainEqual(['Instances', 'opened on 2 instances: a, b']);
  });
});
