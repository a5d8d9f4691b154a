import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '@vigil/shared';
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

describe('alert recipient variables', () => {
  const load = (env: Record<string, string>) => loadConfig(notifierEnvSchema, env, { exit: false });
  const problemsOf = (env: Record<string, string>) => {
    try {
      load(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    return [];
  };

  it('accepts an address, a list and display names; unset or empty is no default recipient', () => {
    const cfg = load({
      ADMIN_EMAIL: 'ops@example.com',
      DEV_EMAIL_ADDRESSES: 'Dev One <dev1@example.com>, dev2@example.co.uk; dev3@example.io',
    });
    expect(cfg.ADMIN_EMAIL).toBe('ops@example.com');
    expect(load({ ADMIN_EMAIL: '', DEV_EMAIL_ADDRESSES: '' }).ADMIN_EMAIL).toBeUndefined();
    expect(load({ ADMIN_EMAIL: 'ops@vigil.localhost' }).ADMIN_EMAIL).toBe('ops@vigil.localhost');
  });

  it.each([
    ['ADMIN_EMAIL', 'ops@'],
    ['ADMIN_EMAIL', 'ops example.com'],
    ['ADMIN_EMAIL', ' , '],
    ['DEV_EMAIL_ADDRESSES', 'dev1@example.com, not-valid'],
    ['DEV_EMAIL_ADDRESSES', 'dev@localhost'],
  ])('rejects %s=%j at start, naming the variable and the bad entry', (variable, value) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems.map((p) => p.variable)).toEqual([variable]);
    const entry = value.split(',').pop()?.trim() ?? '';
    expect(problems[0].reason).toMatch(entry ? /invalid address/ : /lists no address/);
    if (entry) expect(problems[0].reason).toContain(JSON.stringify(entry));
  });

  it('names both variables in one message when both are bad', () => {
    const problems = problemsOf({ ADMIN_EMAIL: 'ops@', DEV_EMAIL_ADDRESSES: 'a@b.c, @example.com' });
    expect(problems.map((p) => p.variable).sort()).toEqual(['ADMIN_EMAIL', 'DEV_EMAIL_ADDRESSES']);
    expect(problems.find((p) => p.variable === 'DEV_EMAIL_ADDRESSES')?.reason).toContain('"@example.com"');
  });

  it('the notifier process exits 78 with one message naming the variable', () => {
    const main = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
    const res = spawnSync(process.execPath, [main], {
      env: { PATH: process.env.PATH, ADMIN_EMAIL: 'ops@', NATS_URL: 'nats://127.0.0.1:9' },
      encoding: 'utf8',
      // a notifier that accepted the variable would try to start: ended here, as a failure, not a hang
      timeout: 10_000,
      killSignal: 'SIGKILL',
    });
    expect(res.status).toBe(78);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]);
    expect(line.code).toBe('VIGIL_E_CONFIG');
    expect(line.msg).toContain('ADMIN_EMAIL');
    expect(line.problems).toEqual([{ variable: 'ADMIN_EMAIL', reason: expect.stringContaining('"ops@"') }]);
  });
});
