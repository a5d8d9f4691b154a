import type { ServiceReadiness } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { goneCloseId, noteBreakerRound, sightBreaker } from '../../src/breaker-gone.js';
import {
  type BreakerIncident,
  lateBreakerNotice,
  lateNoticeId,
  noteBreakerAlerted,
  noteBreakerClosed,
  noteBreakerOpened,
  openForMs,
} from '../../src/breaker-incident.js';
import { addOpening, dropOpening, MAX_INDEXED } from '../../src/breaker-index.js';
import { renderEmail } from '../../src/render-email.js';

// An opening whose instance went away without a breaker.closed: the watchdog's health rounds end it.
const T = Date.parse('2026-03-01T22:15:31Z');
const S = 1_000;
const ref = { service: 'webhooks', name: 'http://127.0.0.1:47012' };
const rules = { marginMs: 5 * S, confirmMs: 30 * S };
const notOpen = { open: false as const, instances: 1, ids: ['webhooks-b'] };

function alertedOpening(at = T): BreakerIncident {
  const inc = noteBreakerOpened(undefined, { ...ref, at }) as BreakerIncident;
  return noteBreakerAlerted(inc, { ...ref, at, id: 'open-1' }).next as BreakerIncident;
}

/** Applies rounds in order, returning each decision and the record after them. */
function run(
  inc: BreakerIncident | undefined,
  rounds: Array<[number, Parameters<typeof noteBreakerRound>[1]['sighting']]>,
) {
  const actions: string[] = [];
  let cur = inc;
  for (const [at, sighting] of rounds) {
    const step = noteBreakerRound(cur, { at, sighting }, rules);
    actions.push(step.result.action);
    cur = step.next ?? cur;
  }
  return { actions, inc: cur };
}

function answer(over: Partial<ServiceReadiness>): ServiceReadiness {
  return {
    service: 'webhooks',
    ready: true,
    instances: 1,
    instanceStarts: [{ id: 'webhooks-b', startedAt: T }],
    ...over,
  };
}

describe('what a round says about a breaker (sightBreaker)', () => {
  it('nothing when no instance answered, or one answered without listing its breakers (an older version)', () => {
    expect(sightBreaker(undefined, ref.name)).toBeUndefined();
    expect(sightBreaker(answer({ instances: 0, instanceStarts: [] }), ref.name)).toBeUndefined();
    expect(sightBreaker(answer({ instances: 2, breakersUnknown: ['webhooks-old'] }), ref.name)).toBeUndefined();
  });

  it('open when an instance lists it open or half-open (also under its subject-token name); else on no instance', () => {
    const listed = (name: string, state: 'open' | 'half-open') =>
      answer({ openBreakers: [{ instance: 'webhooks-a', name, state, since: '', openSince: '' }] });
    expect(sightBreaker(listed(ref.name, 'open'), ref.name)).toEqual({ open: true, instances: 1 });
    expect(sightBreaker(listed(ref.name, 'half-open'), ref.name)).toEqual({ open: true, instances: 1 });
    expect(sightBreaker(listed(ref.name, 'open'), 'http___127_0_0_1_47012')).toEqual({ open: true, instances: 1 });
    expect(sightBreaker(listed('https://other.example', 'open'), ref.name)).toEqual({
      open: false,
      instances: 1,
      ids: ['webhooks-b'],
    });
    expect(sightBreaker(answer({}), ref.name)).toEqual(notOpen);
  });

  it('unproven when no instance lists it open but one has it closed and not proven since it started', () => {
    const unproven = (name: string) => [{ instance: 'webhooks-b', name, since: new Date(T).toISOString() }];
    expect(sightBreaker(answer({ unprovenBreakers: unproven(ref.name) }), ref.name)).toEqual({
      open: false,
      unproven: ['webhooks-b'],
      instances: 1,
    });
    // under its subject-token name too; another breaker's says nothing about this one
    expect(sightBreaker(answer({ unprovenBreakers: unproven(ref.name) }), 'http___127_0_0_1_47012')).toMatchObject({
      unproven: ['webhooks-b'],
    });
    expect(sightBreaker(answer({ unprovenBreakers: unproven('https://other.example') }), ref.name)).toEqual(notOpen);
    // open on one instance, unproven on another: open
    const both = answer({
      instances: 2,
      openBreakers: [{ instance: 'webhooks-a', name: ref.name, state: 'open', since: '', openSince: '' }],
      unprovenBreakers: unproven(ref.name),
    });
    expect(sightBreaker(both, ref.name)).toEqual({ open: true, instances: 2 });
  });
});

describe('an opening no close ends (noteBreakerRound, pure)', () => {
  it('found on no instance in two rounds an interval apart: ended at the first, one notice', () => {
    const { actions, inc } = run(alertedOpening(), [
      [T + 2 * S, notOpen], // too close to the opening: its event may be on the way
      [T + 14 * S, notOpen], // the first round that counts
      [T + 30 * S, notOpen], // not yet an interval later
      [T + 44 * S, notOpen],
    ]);
    expect(actions).toEqual(['none', 'unseen', 'none', 'notice']);
    const id = goneCloseId(ref, T + 14 * S);
    expect(id).toBe(`breaker-gone-webhooks.http://127.0.0.1:47012-${T + 14 * S}`);
    expect(inc).toMatchObject({
      since: T,
      closed: { id, at: T + 14 * S, gone: { checkedAt: T + 44 * S, instances: 1, ids: ['webhooks-b'] } },
      notice: id,
    });
    expect(inc).not.toHaveProperty('unseenSince');
    // open for the time to the first round that found it on no instance, not to the confirming round
    expect(openForMs(inc as BreakerIncident)).toBe(14 * S);
    // a later round (another replica, or this one after its send failed): the same notice again, claimed once
    expect(noteBreakerRound(inc, { at: T + 74 * S, sighting: notOpen }, rules).result).toEqual({
      action: 'notice',
      incident: inc,
    });
  });

  it('listed again (one instance slow to answer once), or opened again: the count starts over', () => {
    const open = { open: true as const };
    expect(
      run(alertedOpening(), [
        [T + 30 * S, notOpen],
        [T + 60 * S, open],
        [T + 90 * S, notOpen],
      ]).actions,
    ).toEqual(['unseen', 'seen', 'unseen']);
    let inc = run(alertedOpening(), [[T + 30 * S, notOpen]]).inc as BreakerIncident;
    inc = noteBreakerOpened(inc, { ...ref, at: T + 40 * S }) as BreakerIncident; // re-opened on some instance
    const after = run(inc, [
      [T + 60 * S, notOpen],
      [T + 80 * S, notOpen],
      [T + 90 * S, notOpen],
    ]);
    expect(after.actions).toEqual(['unseen', 'none', 'notice']);
    expect(after.inc?.closed?.at).toBe(T + 60 * S);
  });

  it('a round that says nothing (no answer, an older instance) neither ends nor forgets', () => {
    const { actions, inc } = run(alertedOpening(), [
      [T + 30 * S, notOpen],
      [T + 60 * S, undefined],
      [T + 90 * S, notOpen],
    ]);
    expect(actions).toEqual(['unseen', 'none', 'notice']);
    expect(inc?.closed?.at).toBe(T + 30 * S);
  });

  it('an opening no alert went out about ends without a notice; an ended one is left alone', () => {
    const inc = noteBreakerOpened(undefined, { ...ref, at: T });
    const r = run(inc, [
      [T + 30 * S, notOpen],
      [T + 60 * S, notOpen],
      [T + 90 * S, notOpen],
    ]);
    expect(r.actions).toEqual(['unseen', 'ended', 'none']);
    expect(r.inc?.notice).toBeUndefined();
    const closedByEvent = noteBreakerClosed(alertedOpening(), { id: 'close-1', at: T + 10 * S }).next;
    expect(run(closedByEvent, [[T + 60 * S, notOpen]]).actions).toEqual(['none']);
    expect(run(undefined, [[T + 60 * S, notOpen]]).actions).toEqual(['none']);
  });

  it('after such an end: a late close sends nothing, a later opening starts afresh, a late alert sends the notice', () => {
    const ended = run(alertedOpening(), [
      [T + 30 * S, notOpen],
      [T + 60 * S, notOpen],
    ]).inc as BreakerIncident;
    expect(noteBreakerClosed(ended, { id: 'close-late', at: T + 70 * S }).result.action).toBe('already-closed');
    expect(noteBreakerOpened(ended, { ...ref, at: T + 80 * S })).toEqual({
      ...ref,
      since: T + 80 * S,
      lastOpenedAt: T + 80 * S,
    });
    // an opening nobody was alerted about yet, ended by a round; then its alert goes out (a group's follow-up)
    const silent = run(noteBreakerOpened(undefined, { ...ref, at: T }), [
      [T + 30 * S, notOpen],
      [T + 60 * S, notOpen],
    ]).inc;
    const late = noteBreakerAlerted(silent, { ...ref, at: T, id: 'fu-1' });
    expect(late.result.action).toBe('late-notice');
    expect(late.next?.notice).toBe(lateNoticeId(goneCloseId(ref, T + 30 * S)));
    expect(lateBreakerNotice(late.next as BreakerIncident).headline).toContain('no longer open on any instance');
  });
});

describe('an instance restarted while the dependency is still down (its breaker closed, not proven)', () => {
  const unproven = { open: false as const, unproven: ['webhooks-b'], instances: 1 };

  it('does not end the opening however many rounds; once a call succeeded there, two rounds end it', () => {
    const { actions, inc } = run(alertedOpening(), [
      [T + 30 * S, unproven], // the successor's breaker: closed only because nothing has been tried yet
      [T + 60 * S, unproven],
      [T + 90 * S, unproven],
      [T + 120 * S, unproven],
    ]);
    expect(actions).toEqual(['unproven', 'unproven', 'unproven', 'unproven']);
    expect(inc?.closed).toBeUndefined();
    expect(inc?.unseenSince).toBeUndefined();
    expect(inc?.seenAt).toBe(T + 120 * S);
    // a call through it succeeded: the answers no longer list it
    const after = run(inc, [
      [T + 150 * S, notOpen],
      [T + 180 * S, notOpen],
    ]);
    expect(after.actions).toEqual(['unseen', 'notice']);
    expect(after.inc?.closed?.at).toBe(T + 150 * S);
    expect(openForMs(after.inc as BreakerIncident)).toBe(150 * S);
  });

  it('a round that found it on no instance is forgotten when an instance then lists it unproven', () => {
    // the first round: the successor had not created the breaker yet; the next: created, not tried
    const { actions, inc } = run(alertedOpening(), [
      [T + 30 * S, notOpen],
      [T + 60 * S, unproven],
      [T + 90 * S, notOpen],
    ]);
    expect(actions).toEqual(['unseen', 'unproven', 'unseen']);
    expect(inc?.closed).toBeUndefined();
    expect(inc?.unseenSince).toBe(T + 90 * S);
  });

  it('the breaker opens again on the successor (its first calls failed): open, as any opening', () => {
    const { actions, inc } = run(alertedOpening(), [
      [T + 30 * S, unproven],
      [T + 60 * S, { open: true, instances: 1 }],
      [T + 90 * S, unproven],
    ]);
    expect(actions).toEqual(['unproven', 'none', 'unproven']);
    expect(inc?.closed).toBeUndefined();
  });

  it('a round that found it nowhere, written after a later one that found it unproven, notes nothing', () => {
    const { actions, inc } = run(alertedOpening(), [
      [T + 40 * S, unproven],
      [T + 30 * S, notOpen],
    ]);
    expect(actions).toEqual(['unproven', 'none']);
    expect(inc?.unseenSince).toBeUndefined();
    // and an unproven round written late after a later miss still forgets that miss (in doubt, it waits)
    const late = run(alertedOpening(), [
      [T + 60 * S, notOpen],
      [T + 50 * S, unproven],
      [T + 95 * S, notOpen],
    ]);
    expect(late.actions).toEqual(['unseen', 'unproven', 'unseen']);
    expect(late.inc?.closed).toBeUndefined();
  });
});

describe('the notice of an opening ended by a round', () => {
  it('says why, when it was checked, and how long it was open at most', () => {
    const inc = run(alertedOpening(), [
      [T + 14 * S, notOpen],
      [T + 44 * S, notOpen],
    ]).inc as BreakerIncident;
    const notice = lateBreakerNotice(inc);
    expect(notice).toMatchObject({
      eventId: inc.notice,
      kind: 'breaker-closed',
      severity: 'INFO',
      resolved: true,
      scope: 'breaker:webhooks.http://127.0.0.1:47012',
      occurredAt: new Date(T + 14 * S).toISOString(),
    });
    const facts = Object.fromEntries(notice.facts);
    expect(facts['Why resolved']).toBe(
      'no instance of webhooks reports it open any more (the instance that opened it is gone: restarted or replaced); checked at 2026-03-01 22:16:15 UTC',
    );
    expect(facts['Instances answering']).toBe('1 (webhooks-b), none with this breaker open or half-open');
    expect(facts['Open for']).toMatch(/^at most 14 s /);
    expect(facts['Opened at']).toBe('2026-03-01 22:15:31 UTC');
    expect(facts['Open on no instance at']).toBe('2026-03-01 22:15:45 UTC');
    expect(facts['Opened alerts sent']).toBe('1');
    expect(facts).not.toHaveProperty('Closed at');
    const mail = renderEmail(notice, { publicUrl: 'http://127.0.0.1:8080' });
    expect(mail.subject).toBe(
      '✅ RESOLVED: circuit breaker webhooks/http://127.0.0.1:47012 no longer open on any instance (open for at most 14 s)',
    );
    expect(mail.text).toContain('No breaker.closed arrived, but no instance of webhooks reports this breaker open');
    expect(mail.html).toContain('the instance that had it open is gone (restarted or replaced)');
  });
});

describe('the index of openings the rounds look at (pure)', () => {
  const e = { ...ref, since: T };
  it('adds once, refreshes a changed opening, drops only an opening that began no later than the end', () => {
    const one = addOpening(undefined, 'breaker:a', e);
    expect(one).toEqual({ open: { 'breaker:a': e } });
    expect(addOpening(one, 'breaker:a', e)).toBeUndefined();
    const fresh = addOpening(one, 'breaker:a', { ...e, since: T + 60 * S });
    expect(fresh?.open['breaker:a'].since).toBe(T + 60 * S);
    // the round saw the opening that ended at T + 30 s; a fresh one (since T + 60 s) was indexed meanwhile: kept
    expect(dropOpening(fresh, 'breaker:a', T + 30 * S)).toBeUndefined();
    expect(dropOpening(one, 'breaker:a', T + 30 * S)).toEqual({ open: {} });
    expect(dropOpening(one, 'breaker:b', T + 30 * S)).toBeUndefined();
  });

  it('is bounded', () => {
    let index = { open: {} } as NonNullable<ReturnType<typeof addOpening>>;
    for (let i = 0; i < MAX_INDEXED; i++) index = addOpening(index, `breaker:${i}`, e) ?? index;
    expect(addOpening(index, 'breaker:one-more', e)).toBeUndefined();
    expect(addOpening(index, 'breaker:0', { ...e, since: T + S })).toBeDefined();
  });
});

describe('rounds from several notifier replicas, landing out of order', () => {
  it('a round that found it nowhere, written after a later round that listed it open, notes nothing', () => {
    // replica Y's round at +40 s lists it; replica X's older round (+30 s, it found none) lands afterwards
    const { actions, inc } = run(alertedOpening(), [
      [T + 40 * S, { open: true }],
      [T + 30 * S, notOpen],
    ]);
    expect(actions).toEqual(['none', 'none']);
    expect(inc?.seenAt).toBe(T + 40 * S);
    expect(inc?.unseenSince).toBeUndefined();
    // so one later miss is only a first miss, never the confirmation
    expect(run(inc, [[T + 75 * S, notOpen]]).actions).toEqual(['unseen']);
  });
});

describe('an instance slow to answer', () => {
  it('a round with fewer instances answering than when it was seen open says nothing; as many again, it counts', () => {
    // A (breaker open) and B answer; then A's answer misses the gathering window in two rounds
    const { actions, inc } = run(alertedOpening(), [
      [T + 30 * S, { open: true, instances: 2 }],
      [T + 60 * S, notOpen],
      [T + 90 * S, notOpen],
    ]);
    expect(actions).toEqual(['none', 'none', 'none']);
    expect(inc?.closed).toBeUndefined();
    // A replaced: two instances answer again, none with it open
    const two = { open: false as const, instances: 2, ids: ['webhooks-b', 'webhooks-c'] };
    expect(
      run(inc, [
        [T + 120 * S, two],
        [T + 150 * S, two],
      ]).actions,
    ).toEqual(['unseen', 'notice']);
  });
});
