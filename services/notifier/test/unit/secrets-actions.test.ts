import { describe, expect, it } from 'vitest';
import { recommendedActions } from '../../src/recommended-actions.js';
import { renderEmail } from '../../src/render-email.js';
import { toAlert } from '../../src/to-alert.js';

const publicUrl = 'http://127.0.0.1:8080';
const FILE = '/etc/vigil/secrets.yaml';
const at = '2026-11-24T03:00:00.000Z';

/** The email an operator reads: subject, plain text, and its recommended actions as one text. */
function email(subject: string, data: Record<string, unknown>) {
  const alert = toAlert(subject, { id: 'ev-1', time: at, data: { at, ...data } })!;
  const mail = renderEmail(alert, { publicUrl });
  return { alert, mail, actions: recommendedActions(alert).join('\n') };
}

const unavailable = (name: string, type: string, why: string) => ({
  name,
  type,
  error: `secret "${name}" is unavailable: provider error ${type} and ${why}`,
});
const KEY_UNSET = 'no value has been cached since start (last-known-good copies are off: SECRETS_CACHE_KEY is unset)';
const NO_LKG = 'no value has been cached since start and there is no last-known-good copy';

describe('secrets emails follow the provider of the event', () => {
  it('file: a missing secrets file names the file, not AWS', () => {
    const { mail, actions } = email('secrets.refresh-failed', {
      names: ['db', 'openai'],
      provider: 'file',
      severity: 'CRITICAL',
      cached: true,
      total: 2,
      refreshed: 0,
      failed: [
        {
          name: 'db',
          type: 'ENOENT',
          error: `file provider error ENOENT for secret "db": cannot read secrets file ${FILE}`,
        },
        {
          name: 'openai',
          type: 'ENOENT',
          error: `file provider error ENOENT for secret "openai": cannot read secrets file ${FILE}`,
        },
      ],
      error: {
        type: 'ENOENT',
        message: '2 of 2 secrets failed to refresh: db (ENOENT), openai (ENOENT)',
        class: 'transient',
      },
    });
    expect(mail.subject).toBe('🚨 CRITICAL: secrets refresh failed: db, openai — ENOENT');
    expect(actions).not.toMatch(/AWS|health\.aws/);
    expect(actions).toMatch(
      /^The secrets file \/etc\/vigil\/secrets\.yaml \(SECRETS_FILE\) does not exist \(ENOENT\): restore it, or point SECRETS_FILE/m,
    );
    expect(actions).toMatch(/Nothing to re-run: the secrets service asks the provider again by itself/);
    // each secret's own error is in the email
    expect(mail.text).toContain('FAILED SECRETS');
    expect(mail.text).toContain(
      `- db: ENOENT: file provider error ENOENT for secret "db": cannot read secrets file ${FILE}`,
    );
    expect(mail.text).toMatch(/Error class:\s+transient\n/);
  });

  it('file: a stale secret names the file its error names (the same source the ERROR section shows)', () => {
    const { mail, actions } = email('secrets.stale-served', {
      name: 'openai',
      ageSeconds: 120,
      provider: 'file',
      source: 'file',
      error: {
        type: 'ENOENT',
        message: `file provider error ENOENT for secret "openai": cannot read secrets file ${FILE}`,
        class: 'transient',
        code: 'VIGIL_E_SECRETS_PROVIDER',
      },
    });
    expect(mail.subject).toBe('⚠️ WARNING: stale secret served: openai — ENOENT');
    expect(actions).not.toMatch(/AWS/);
    expect(actions).toMatch(
      /stale cached secret was served .* The secrets file \/etc\/vigil\/secrets\.yaml \(SECRETS_FILE\) does not exist/,
    );
  });

  it('file: an unreadable or invalid file, and a file error without a path', () => {
    const invalid = email('secrets.stale-served', {
      name: 'db',
      provider: 'file',
      error: {
        type: 'InvalidSecretsFile',
        message: `file provider error InvalidSecretsFile for secret "db": secrets file ${FILE} is not valid JSON or YAML`,
        class: 'transient',
      },
    });
    expect(invalid.actions).toMatch(
      /The secrets file \/etc\/vigil\/secrets\.yaml \(SECRETS_FILE\) is not valid JSON or YAML/,
    );
    const denied = email('secrets.stale-served', {
      name: 'db',
      provider: 'file',
      error: {
        type: 'EACCES',
        message: 'file provider error EACCES for secret "db": cannot read secrets file /s.json',
      },
    });
    expect(denied.actions).toMatch(/may not read the secrets file \/s\.json \(SECRETS_FILE\): fix its permissions/);
    const nameless = email('secrets.stale-served', {
      name: 'db',
      provider: 'file',
      error: { type: 'VIGIL_E_BREAKER_OPEN', message: 'breaker open' },
    });
    expect(nameless.actions).toMatch(/cannot read the secrets file \(SECRETS_FILE of the secrets service\)/);
  });

  it('aws keeps the AWS advice; env names the VIGIL_SECRET_* variables; unknown says "the secrets provider"', () => {
    const aws = email('secrets.refresh-failed', {
      names: ['db'],
      provider: 'aws',
      severity: 'CRITICAL',
      cached: true,
      error: { type: 'InternalServiceError', message: '1 of 1 secrets failed to refresh: db', class: 'transient' },
    });
    expect(aws.actions).toMatch(/AWS status \(https:\/\/health\.aws\.amazon\.com\) and the credentials and AWS_REGION/);
    const env = email('secrets.stale-served', {
      name: 'db',
      provider: 'env',
      error: { type: 'VIGIL_E_BREAKER_OPEN', message: 'breaker open' },
    });
    expect(env.actions).toMatch(/VIGIL_SECRET_\* variables of the secrets service/);
    expect(env.actions).not.toMatch(/AWS/);
    const unknown = email('secrets.refresh-failed', {
      names: ['db'],
      severity: 'CRITICAL',
      error: { type: 'InternalServiceError', message: 'x', class: 'transient' },
    });
    expect(unknown.actions).toMatch(/^The secrets provider is failing/m);
    expect(unknown.actions).not.toMatch(/AWS/);
  });
});

describe('refused credentials do not pass by themselves', () => {
  const denied = {
    type: 'AccessDeniedException',
    message:
      'aws provider error AccessDeniedException: User is not authorized to perform: secretsmanager:GetSecretValue',
    class: 'transient',
  };

  it('the credentials fix leads; no "check AWS status", no "passes by itself"', () => {
    for (const { actions } of [
      email('secrets.refresh-failed', {
        names: ['db'],
        provider: 'aws',
        severity: 'CRITICAL',
        cached: true,
        error: denied,
      }),
      email('secrets.stale-served', { name: 'db', provider: 'aws', error: denied }),
    ]) {
      expect(actions.split('\n')[0]).toMatch(/refused the secrets service: check its AWS credentials .*GetSecretValue/);
      expect(actions).not.toMatch(/health\.aws|is unavailable|Nothing to re-run|asks the provider again by itself/);
      expect(actions).toMatch(/does not pass by itself: once the credentials are fixed/);
    }
  });

  it('a throttling provider keeps the outage advice, with the throttling note after it', () => {
    const { actions } = email('secrets.stale-served', {
      name: 'db',
      provider: 'aws',
      error: { type: 'ThrottlingException', message: 'Rate exceeded', class: 'transient' },
    });
    const lines = actions.split('\n');
    expect(lines[0]).toMatch(/^A stale cached secret was served because the provider is unavailable\. .*AWS status/);
    expect(actions).toMatch(/throttling the secrets service/);
    expect(lines.at(-1)).toMatch(/^Nothing to re-run/);
  });
});

describe('a secret that no longer exists', () => {
  const deleted = (cls: 'transient' | 'permanent', provider = 'file') =>
    email('secrets.refresh-failed', {
      names: ['openai'],
      provider,
      severity: 'WARNING',
      cached: false,
      total: 4,
      refreshed: 3,
      failed: [
        {
          name: 'openai',
          type: 'ResourceNotFoundException',
          error: `secret "openai" does not exist in the ${provider} provider`,
        },
      ],
      error: {
        type: 'ResourceNotFoundException',
        message: '1 of 4 secrets failed to refresh: openai (ResourceNotFoundException)',
        class: cls,
      },
    });

  it.each(['transient', 'permanent'] as const)(
    'says restore it or stop asking for it, never "the provider is failing" (event class %s)',
    (cls) => {
      const { mail, actions } = deleted(cls);
      expect(mail.subject).toBe('⚠️ WARNING: secrets refresh failed: openai — ResourceNotFoundException');
      expect(actions).toMatch(
        /^The secret openai no longer exists in the secrets file \(SECRETS_FILE of the secrets service\): put its key back in the file, or remove it from SECRET_NAMES \/ the jobs file/m,
      );
      expect(actions).toMatch(
        /The secrets service no longer serves it: it dropped the cached value .* jobs that need it fail now/,
      );
      for (const wrong of [
        /provider is failing/,
        /AWS/,
        /SECRETS_CACHE_KEY/,
        /Nothing to re-run/,
        /asks the provider again/,
      ]) {
        expect(actions).not.toMatch(wrong);
      }
      expect(mail.text).toMatch(/Error class:\s+permanent \(openai no longer exists at the provider\)/);
      expect(mail.text).not.toMatch(/Error class:\s+transient/);
    },
  );

  it('per provider: AWS Secrets Manager, the VIGIL_SECRET_ variable', () => {
    expect(deleted('transient', 'aws').actions).toMatch(/no longer exists in AWS Secrets Manager/);
    expect(deleted('transient', 'env').actions).toMatch(
      /no longer exists \(VIGIL_SECRET_OPENAI not set on the secrets service\): set the variable and restart/,
    );
  });

  it('a cycle with a deleted secret and a provider error advises on each', () => {
    const { mail, actions } = email('secrets.refresh-failed', {
      names: ['openai', 'db'],
      provider: 'aws',
      severity: 'CRITICAL',
      cached: false,
      failed: [
        {
          name: 'openai',
          type: 'ResourceNotFoundException',
          error: 'secret "openai" does not exist in the aws provider',
        },
        unavailable('db', 'InternalServiceError', KEY_UNSET),
      ],
      error: { type: 'MultipleErrors', message: '2 of 2 secrets failed to refresh', class: 'transient' },
    });
    expect(actions).toMatch(/The secret openai no longer exists in AWS Secrets Manager/);
    expect(actions).toMatch(/AWS status/);
    expect(actions).toMatch(/set SECRETS_CACHE_KEY on the secrets service .* \(it is unset: none are kept now\)/);
    expect(mail.text).toMatch(
      /Error class:\s+transient for db \(provider errors\); permanent for openai \(no longer exists at the provider\)/,
    );
  });
});

describe('per-secret class and cached (failed[].class, failed[].cached)', () => {
  it('a deleted secret is dropped by design: its "cached: false" does not make the others NOT LOADED', () => {
    const { alert, actions } = email('secrets.refresh-failed', {
      names: ['openai', 'db'],
      provider: 'aws',
      severity: 'CRITICAL',
      cached: false,
      failed: [
        {
          name: 'openai',
          type: 'ResourceNotFoundException',
          error: 'secret "openai" does not exist in the aws provider',
          class: 'permanent',
          cached: false,
        },
        {
          name: 'db',
          type: 'InternalServiceError',
          error: 'aws provider error InternalServiceError for secret "db": 500',
          class: 'transient',
          cached: true,
        },
      ],
      error: { type: 'MultipleErrors', message: '2 of 2 secrets failed to refresh', class: 'transient' },
    });
    expect(alert.uncachedSecrets).toBeUndefined();
    expect(actions).toMatch(/Jobs keep running on the cached values while they last/);
    expect(actions).not.toMatch(/SECRETS_CACHE_KEY/);
    expect(actions).toMatch(/The secret openai no longer exists in AWS Secrets Manager/);
  });
});

describe('SECRETS_CACHE_KEY is advised only when the event says it is unset, else conditionally', () => {
  const uncached = (failed: unknown[], extra: Record<string, unknown> = {}) =>
    email('secrets.refresh-failed', {
      names: ['db'],
      provider: 'aws',
      severity: 'CRITICAL',
      cached: false,
      failed,
      error: { type: 'InternalServiceError', message: '1 of 1 secrets failed to refresh: db', class: 'transient' },
      ...extra,
    }).actions;

  it('unset: set it', () => {
    expect(uncached([unavailable('db', 'InternalServiceError', KEY_UNSET)])).toMatch(
      /set SECRETS_CACHE_KEY on the secrets service so a restart keeps last-known-good copies \(it is unset/,
    );
  });

  it('set (the last-known-good store is in use): never "set SECRETS_CACHE_KEY"', () => {
    const a = uncached([unavailable('db', 'InternalServiceError', NO_LKG)]);
    expect(a).not.toMatch(/set SECRETS_CACHE_KEY/);
    expect(a).toMatch(/last-known-good copies are on \(SECRETS_CACHE_KEY is set\), but there is none of these secrets/);
  });

  it('the event does not say: worded conditionally', () => {
    expect(uncached([])).toMatch(/if SECRETS_CACHE_KEY is not set on the secrets service, set it/);
  });
});
