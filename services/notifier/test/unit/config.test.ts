import { describe, expect, it } from 'vitest';
import { notifierEnvSchema } from '../../src/config.js';

describe('notifier configuration', () => {
  it('rejects an SMTP_URL it could not connect with, at start, without echoing the password', () => {
    for (const bad of ['smtp://u:p%zz@mail.example.com', 'smtp://bad host:25', 'smtp://']) {
      const r = notifierEnvSchema.safeParse({ SMTP_URL: bad });
      expect(r.success, bad).toBe(false);
      const issue = r.error?.issues.find((i) => i.path[0] === 'SMTP_URL');
      expect(issue?.message).toMatch(/not a valid URL/);
      expect(JSON.stringify(r.error?.issues)).not.toContain('p%zz');
    }
    const ok = notifierEnvSchema.parse({ SMTP_URL: 'smtps://alerts%40example.com:s3cr%21t@mail.example.com:465' });
    expect(ok.SMTP_URL).toContain('mail.example.com');
  });
});
