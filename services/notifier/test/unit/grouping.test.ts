import { describe, expect, it } from 'vitest';
import { groupKeyOf } from '../../src/alert.js';
import {
  confirmFollowUp,
  decideOnAlert,
  FOLLOW_UP_LEASE_MS,
  type GroupState,
  restoreFollowUp,
  takeFollowUp,
} from '../../src/grouping.js';
import { toAlert } from '../../src/to-alert.js';
import { failedEvent } from './fixtures.js';

const I = 300_000;

describe('grouping', () => {
  it('sends the first at once and folds 49 more into one follow-up after the interval', () => {
    const alert = toAlert('job.failed.daily-reports', failedEvent())!;
    const key = groupKeyOf(alert);
    let state: GroupState | undefined;
    let sent = 0;
    for (let i = 0; i < 50; i++) {
      const d = decideOnAlert(state, key, { ...alert, eventId: String(i) }, 1_000 + i * 200, I);
      if (d.action === 'send') sent++;
      state = d.next;
    }
    expect(sent).toBe(1);
    expect(state!.pending).toBe(49);
    expect(takeFollowUp(state!, 1_000 + I - 1)).toBeUndefined();
    const f = takeFollowUp(state!, 1_000 + I)!;
    expect(f.count).toBe(49);
    expect(f.alert.eventId).toBe('49');
    expect(f.next.pending).toBe(0);
    expect(takeFollowUp(confirmFollowUp(f.next), 1_000 + 3 * I)).toBeUndefined();
    // quiet for an interval: the next alert goes out at once
    expect(decideOnAlert(f.next, key, alert, 1_000 + 2 * I, I).action).toBe('send');
    expect(decideOnAlert(f.next, key, alert, 1_000 + I + 10, I).action).toBe('fold');
  });

  it('a follow-up claimed by a replica that died while sending is due again after its lease, with later folds', () => {
    const alert = toAlert('job.failed.daily-reports', failedEvent())!;
    let s = decideOnAlert(undefined, 'k', alert, 0, I).next;
    s = decideOnAlert(s, 'k', { ...alert, eventId: 'b' }, 1, I).next;
    const claimed = takeFollowUp(s, I)!;
    expect(claimed.count).toBe(1);
    // the sender is killed before it confirms; one more alert is folded meanwhile
    const folded = decideOnAlert(claimed.next, 'k', { ...alert, eventId: 'c' }, I + 10, I).next;
    expect(takeFollowUp(folded, I + FOLLOW_UP_LEASE_MS - 1)).toBeUndefined();
    const again = takeFollowUp(folded, I + FOLLOW_UP_LEASE_MS)!;
    expect(again.count).toBe(2);
    expect(again.sinceMs).toBe(claimed.sinceMs);
  });

  it('puts a failed follow-up back', () => {
    const alert = toAlert('job.failed.daily-reports', failedEvent())!;
    const s = decideOnAlert(
      decideOnAlert(undefined, 'k', alert, 0, I).next,
      'k',
      { ...alert, eventId: 'b' },
      1,
      I,
    ).next;
    const f = takeFollowUp(s, I)!;
    const back = restoreFollowUp(f.next, f.count, I + 30_000);
    expect(back.pending).toBe(1);
    expect(takeFollowUp(back, I + 30_000)?.count).toBe(1);
  });
});

describe('grouping redelivery', () => {
  it('sends the first alert again when its own event is redelivered after a failed send', () => {
    const alert = toAlert('job.failed.daily-reports', failedEvent())!;
    const first = decideOnAlert(undefined, 'k', alert, 0, I);
    expect(decideOnAlert(first.next, 'k', alert, 5, I).action).toBe('send');
    expect(decideOnAlert(first.next, 'k', { ...alert, eventId: 'other' }, 5, I).action).toBe('fold');
  });
});
