import { describe, expect, it } from 'vitest';
import { validAddress } from '@vigil/shared';
import { parseRecipientList, resolveRecipients } from '../../src/recipients.js';

describe('recipients', () => {
  it('parses lists, JSON arrays and the seed secret shape', () => {
    expect(parseRecipientList('a@x.io, b@x.io;c@x.io')).toEqual(['a@x.io', 'b@x.io', 'c@x.io']);
    expect(parseRecipientList('["a@x.io","b@x.io"]')).toEqual(['a@x.io', 'b@x.io']);
    expect(parseRecipientList('{"job_failure_recipients":"ops@x.io,admin@x.io"}')).toEqual(['ops@x.io', 'admin@x.io']);
    expect(validAddress('Ops <ops@x.io>')).toBe('ops@x.io');
    expect(validAddress('not-an-address')).toBeUndefined();
  });

  it('takes the first level with a valid address and reports invalid ones', async () => {
    const r = await resolveRecipients({ job: ['bad', 'ops@x.io'], admin: 'admin@x.io' });
    expect(r).toMatchObject({ recipients: ['ops@x.io'], level: 'job', invalid: [{ level: 'job', address: 'bad' }] });
    const s = await resolveRecipients({ job: ['bad'], secret: async () => 'sec@x.io', admin: 'admin@x.io' });
    expect(s.level).toBe('secret');
    const a = await resolveRecipients({
      secret: async () => {
        throw new Error('no responders');
      },
      admin: 'admin@x.io',
    });
    expect(a).toMatchObject({ level: 'admin', recipients: ['admin@x.io'] });
    expect(a.problems[0]).toMatch(/no responders/);
    expect((await resolveRecipients({ dev: 'd1@x.io,d2@x.io' })).recipients).toEqual(['d1@x.io', 'd2@x.io']);
    expect((await resolveRecipients({})).recipients).toEqual([]);
  });

  it('lets notify.send recipients replace the cascade', async () => {
    const r = await resolveRecipients({ request: ['to@x.io'], job: ['ops@x.io'] });
    expect(r).toMatchObject({ level: 'request', recipients: ['to@x.io'] });
  });
});

describe('smtpOptionsFromUrl', () => {
  it('reads TLS, auth and port from SMTP_URL', async () => {
    const { smtpOptionsFromUrl } = await import('../../src/smtp-options.js');
    expect(smtpOptionsFromUrl('smtp://127.0.0.1:1025')).toEqual({ host: '127.0.0.1', port: 1025, secure: false });
    expect(smtpOptionsFromUrl('smtps://us%40er:p%3Ass@mail.example.com?rejectUnauthorized=false')).toEqual({
      host: 'mail.example.com',
      secure: true,
      auth: { user: 'us@er', pass: 'p:ss' },
      tls: { rejectUnauthorized: false },
    });
    expect(smtpOptionsFromUrl('smtp://mail.example.com:587?requireTLS=true').requireTLS).toBe(true);
  });
});
