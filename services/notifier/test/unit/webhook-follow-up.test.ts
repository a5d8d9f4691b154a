import { describe, expect, it } from 'vitest';
import { groupKeyOf } from '../../src/alert.js';
import { decideOnAlert, type GroupState, takeFollowUp } from '../../src/grouping.js';
import { renderEmail } from '../../src/render-email.js';
import { renderSlack } from '../../src/slack-message.js';
import { toAlert } from '../../src/to-alert.js';

const publicUrl = 'http://127.0.0.1:8080';
const I = 300_000;

const dead = (id: string, data: Record<string, unknown>) =>
  toAlert('webhook.dead', {
    id: `ev-${id}`,
    time: '2026-11-24T03:00:00.000Z',
    data: { id, url: 'http://127.0.0.1:47011/hook', eventType: 'report.ready', ...data },
  })!;
const http = (status: number, attempts: number, cls: 'transient' | 'permanent') => ({
  attempts,
  status,
  error: { type: 'VIGIL_E_HTTP_STATUS', message: `HTTP ${status}`, class: cls },
});

describe('grouped dead webhooks', () => {
  it('each alert names its webhook: id and cause', () => {
    expect(dead('wh-1', http(503, 4, 'transient')).items).toEqual([
      'wh-1 — HTTP 503 after 4 attempts (failing; replay once it is back)',
    ]);
    expect(dead('wh-2', http(302, 1, 'permanent')).items).toEqual(['wh-2 — HTTP 302 (refused: redirect)']);
  });

  it('a refusal and used-up retries to the same host are separate groups (fix the URL vs wait and replay)', () => {
    const refused = dead('wh-1', http(302, 1, 'permanent'));
    const exhausted = dead('wh-2', http(503, 4, 'transient'));
    const never = dead('wh-3', {
      attempts: 0,
      error: {
        type: 'PermanentError',
        message: 'secret "k" does not exist in the file provider',
        class: 'permanent',
        code: 'VIGIL_E_SECRET_NOT_FOUND',
      },
    });
    const keys = new Set([refused, exhausted, never].map(groupKeyOf));
    expect(keys.size).toBe(3);
    // two refusals with different statuses still fold together: the follow-up lists each status
    expect(groupKeyOf(dead('wh-4', http(404, 1, 'permanent')))).toBe(groupKeyOf(refused));
    const network = dead('wh-5', {
      attempts: 4,
      error: { type: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:47011', class: 'transient' },
    });
    expect(network.items).toEqual(['wh-5 — ECONNREFUSED after 4 attempts (unreachable; replay once it is back)']);
  });

  it('the follow-up names every folded webhook in its subject, and its id, cause and status in its body', () => {
    const first = dead('wh-0', http(503, 4, 'transient'));
    const key = groupKeyOf(first);
    let s: GroupState = decideOnAlert(undefined, key, first, 0, I).next;
    const folded = [
      dead('wh-1', http(503, 4, 'transient')),
      dead('wh-2', http(429, 4, 'transient')),
      dead('wh-3', http(504, 4, 'transient')),
      dead('wh-4', http(502, 4, 'transient')),
    ];
    folded.forEach((a, i) => {
      expect(groupKeyOf(a)).toBe(key);
      s = decideOnAlert(s, key, a, i + 1, I).next;
    });
    const f = takeFollowUp(s, I)!;
    expect(f.count).toBe(4);
    const followUp = { count: f.count, sinceMs: 0, items: f.items };
    const mail = renderEmail(f.alert, { publicUrl, followUp });
    expect(mail.subject).toBe(
      '⚠️ WARNING: webhook to 127.0.0.1:47011 given up — VIGIL_E_HTTP_STATUS (+4 more: wh-1, wh-2, wh-3, wh-4)',
    );
    expect(mail.text).toContain(
      [
        '4 more alert(s) of this kind since 1970-01-01 00:00:00 UTC; the latest one is shown below. They were:',
        '  - wh-1 — HTTP 503 after 4 attempts (failing; replay once it is back)',
        '  - wh-2 — HTTP 429 after 4 attempts (rate limited; replay once it is back)',
        '  - wh-3 — HTTP 504 after 4 attempts (failing; replay once it is back)',
        '  - wh-4 — HTTP 502 after 4 attempts (failing; replay once it is back)',
      ].join('\n'),
    );
    expect(mail.html).toContain('<li>wh-2 — HTTP 429 after 4 attempts (rate limited; replay once it is back)</li>');
    const slack = renderSlack(f.alert, { publicUrl, followUp });
    expect(slack.text).toContain('(+4 more: wh-1, wh-2, wh-3, wh-4)');
    expect(JSON.stringify(slack.blocks)).toContain('• wh-3 — HTTP 504 after 4 attempts');
  });
});
