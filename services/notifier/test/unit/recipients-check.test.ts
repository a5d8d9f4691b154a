import { waitFor } from '@vigil/shared/testing';
import { describe, expect, it } from 'vitest';
import { DefaultRecipientsCheck } from '../../src/recipients-check.js';
import type { ResolvedRecipients } from '../../src/recipients.js';

function logger() {
  const lines: Array<[string, string]> = [];
  const at = (level: string) => (a: unknown, b?: unknown) => {
    lines.push([level, typeof a === 'string' ? a : String(b)]);
  };
  return { lines, log: { warn: at('warn'), error: at('error'), info: at('info') } as never };
}

const none: ResolvedRecipients = { recipients: [], invalid: [], problems: [] };

describe('readiness check "recipients" (no default alert recipient)', () => {
  it('passes without asking anything when ADMIN_EMAIL, DEV_EMAIL_ADDRESSES or ALERT_WEBHOOK_URL is set', async () => {
    const { lines, log } = logger();
    let asked = 0;
    const c = new DefaultRecipientsCheck({
      configured: true,
      secretName: 'job_failure_recipients',
      probe: async () => {
        asked++;
        return none;
      },
      now: Date.now,
      logger: log,
    });
    c.start();
    await c.check();
    expect(asked).toBe(0);
    expect(lines).toEqual([]);
  });

  it('without them and with an empty alert secret: a warning at start, and a failing check naming the variables', async () => {
    const { lines, log } = logger();
    const c = new DefaultRecipientsCheck({
      configured: false,
      secretName: 'job_failure_recipients',
      probe: async () => none,
      now: Date.now,
      logger: log,
    });
    c.start();
    expect(lines[0][0]).toBe('warn');
    expect(lines[0][1]).toMatch(/^no default alert recipient: ADMIN_EMAIL, DEV_EMAIL_ADDRESSES and ALERT_WEBHOOK_URL/);
    await expect(c.check()).rejects.toThrow(
      /ADMIN_EMAIL, DEV_EMAIL_ADDRESSES and ALERT_WEBHOOK_URL are unset and the secret job_failure_recipients does not exist or is empty: .* reach nobody\. Set ADMIN_EMAIL \(or DEV_EMAIL_ADDRESSES, or ALERT_WEBHOOK_URL\)/,
    );
    await expect(c.check()).rejects.toThrow();
    expect(lines.filter(([level]) => level === 'error')).toHaveLength(1);
  });

  it('passes when the alert secret names someone, and says why when it cannot be read', async () => {
    let answer: ResolvedRecipients = { recipients: ['ops@example.com'], level: 'secret', invalid: [], problems: [] };
    let now = 0;
    const { lines, log } = logger();
    const c = new DefaultRecipientsCheck({
      configured: false,
      secretName: 'team',
      probe: async () => answer,
      now: () => now,
      logger: log,
      refreshMs: 1_000,
      retryMs: 500,
    });
    await c.check();
    answer = { ...none, unavailable: true, problems: ['alert secret unavailable: no responders'] };
    now = 2_000;
    await c.check(); // the answer is refreshed in the background
    // the background read has taken the new answer in (it logs the problem as it records it)
    await waitFor(() => lines.some(([level]) => level === 'error'));
    await expect(c.check()).rejects.toThrow(
      /secret team could not be read \(alert secret unavailable: no responders\)/,
    );
    // fixed: seen at the next read, sooner than a good answer is re-read
    answer = { recipients: ['ops@example.com'], level: 'secret', invalid: [], problems: [] };
    now = 2_600;
    await expect(c.check()).rejects.toThrow();
    await waitFor(() => lines.some(([level, msg]) => level === 'info' && msg.includes('recipients found')));
    await c.check();
  });
});
