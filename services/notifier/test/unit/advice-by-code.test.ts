import { ErrorCode } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { recommendedActions } from '../../src/recommended-actions.js';
import { renderEmail } from '../../src/render-email.js';
import { isSecretNotFound, secretsByOutcome } from '../../src/secrets-actions.js';
import { toAlert } from '../../src/to-alert.js';
import { webhookDeath } from '../../src/webhook-death.js';

// The advice of an alert follows the error's code, never the wording of its message: rewording a message must not
// change what an email tells the operator to do.

const publicUrl = 'http://127.0.0.1:8080';
/** A message that says nothing of why the webhook died. */
const UNRELATED = 'something went wrong';

function dead(data: Record<string, unknown>) {
  const alert = toAlert('webhook.dead', {
    id: 'w',
    data: { id: 'wh-1', url: 'https://partner.example/hook', eventType: 'report.ready', ...data },
  })!;
  return {
    alert,
    death: webhookDeath(alert),
    mail: renderEmail(alert, { publicUrl }),
    actions: recommendedActions(alert).join('\n'),
  };
}

describe('webhook.dead: advice by code', () => {
  it('WEBHOOK_SIGNING_KEY_MISSING with an unrelated message: set WEBHOOKS_SIGNING_SECRET', () => {
    const { death, mail, actions } = dead({
      attempts: 0,
      error: {
        type: 'PermanentError',
        message: UNRELATED,
        class: 'permanent',
        code: ErrorCode.WEBHOOK_SIGNING_KEY_MISSING,
      },
    });
    expect(death).toEqual({ cause: 'no-key', why: 'no-default' });
    expect(actions).toMatch(
      /Set WEBHOOKS_SIGNING_SECRET \(whsec_…\) on the webhooks service and restart it, then replay it/,
    );
    expect(mail.text).toMatch(/Error class:\s+permanent \(never sent\)/);
  });

  it('WEBHOOK_SIGNING_KEY_INVALID with an unrelated message: store a valid key', () => {
    const { death, actions } = dead({
      attempts: 0,
      error: {
        type: 'PermanentError',
        message: UNRELATED,
        class: 'permanent',
        code: ErrorCode.WEBHOOK_SIGNING_KEY_INVALID,
      },
    });
    expect(death).toMatchObject({ cause: 'no-key', why: 'bad-key' });
    expect(actions).toMatch(/is not a Standard Webhooks key \(whsec_…\)/);
    expect(actions).toMatch(/Store a valid key under/);
  });

  it('WEBHOOK_SECRETS_UNCONFIGURED with an unrelated message: fix the webhooks service configuration', () => {
    const { death, actions } = dead({
      attempts: 0,
      error: {
        type: 'PermanentError',
        message: UNRELATED,
        class: 'permanent',
        code: ErrorCode.WEBHOOK_SECRETS_UNCONFIGURED,
      },
    });
    expect(death).toMatchObject({ cause: 'no-key', why: 'no-secrets-client' });
    expect(actions).toMatch(/the webhooks service has no secrets client/);
  });

  it('the messages signing-keys.ts words today still name the secret in the advice', () => {
    const { actions } = dead({
      attempts: 0,
      error: {
        type: 'PermanentError',
        message: 'secret partner-key is not a Standard Webhooks key (whsec_…)',
        class: 'permanent',
        code: ErrorCode.WEBHOOK_SIGNING_KEY_INVALID,
      },
    });
    expect(actions).toMatch(/^Never sent: secret partner-key, named by its secretName, is not a Standard Webhooks key/);
  });

  it('WEBHOOK_URL_REFUSED in an attempt is the SSRF guard (allow it); before any attempt, a bad URL (fix it)', () => {
    const ssrf = dead({
      url: 'https://intranet.corp/hook',
      attempts: 1,
      error: {
        type: ErrorCode.WEBHOOK_URL_REFUSED,
        code: ErrorCode.WEBHOOK_URL_REFUSED,
        message: UNRELATED,
        class: 'permanent',
      },
    });
    expect(ssrf.death).toEqual({ cause: 'address-refused' });
    expect(ssrf.actions).toMatch(/WEBHOOKS_ALLOWLIST=intranet.corp/);
    const url = dead({
      attempts: 0,
      error: { type: 'ValidationError', code: ErrorCode.WEBHOOK_URL_REFUSED, message: UNRELATED, class: 'validation' },
    });
    expect(url.death).toEqual({ cause: 'invalid', what: 'url' });
  });

  it('WEBHOOK_EXPIRED with an unrelated message: expired', () => {
    const { death } = dead({
      attempts: 2,
      error: {
        type: ErrorCode.WEBHOOK_EXPIRED,
        code: ErrorCode.WEBHOOK_EXPIRED,
        message: UNRELATED,
        class: 'permanent',
      },
    });
    expect(death).toEqual({ cause: 'expired' });
  });

  it("a receiver's answer that reads like our own error is the receiver's refusal, not a missing key", () => {
    const { death, actions } = dead({
      attempts: 1,
      status: 401,
      error: {
        type: ErrorCode.HTTP_STATUS,
        code: ErrorCode.HTTP_STATUS,
        message: 'HTTP 401: no signing key; refusing to send to you',
        class: 'permanent',
      },
    });
    expect(death).toEqual({ cause: 'refused', status: 401 });
    expect(actions).not.toMatch(/Set WEBHOOKS_SIGNING_SECRET|WEBHOOKS_ALLOWLIST/);
  });

  it('events of older versions (no precise code) are still read by their wording', () => {
    // before WEBHOOK_SIGNING_KEY_MISSING, "no signing key" said SECRET_NOT_FOUND
    const noKey = dead({
      attempts: 0,
      error: {
        type: 'PermanentError',
        message: 'no signing key: the request names no secretName and WEBHOOKS_SIGNING_SECRET is unset',
        class: 'permanent',
        code: ErrorCode.SECRET_NOT_FOUND,
      },
    });
    expect(noKey.death).toEqual({ cause: 'no-key', why: 'no-default' });
    // a malformed key was a ValidationError, no secrets client a PermanentError with SECRET_UNAVAILABLE
    const badKey = dead({
      attempts: 0,
      error: {
        type: 'ValidationError',
        message: 'secret partner-key is not a Standard Webhooks key (whsec_…)',
        class: 'validation',
        code: ErrorCode.VALIDATION,
      },
    });
    expect(badKey.death).toEqual({ cause: 'no-key', why: 'bad-key', secretName: 'partner-key' });
    const noClient = dead({
      attempts: 0,
      error: {
        type: 'PermanentError',
        message: 'secret partner-key requested but no secrets client is configured',
        class: 'permanent',
        code: ErrorCode.SECRET_UNAVAILABLE,
      },
    });
    expect(noClient.death).toEqual({ cause: 'no-key', why: 'no-secrets-client', secretName: 'partner-key' });
    // a death re-announced after a crash carries the dead letter's code; its message is all that says why
    const reannounced = dead({
      attempts: 1,
      error: {
        type: ErrorCode.PERMANENT,
        code: ErrorCode.PERMANENT,
        message: 'refusing to send to intranet.corp (10.0.0.5: private address)',
        class: 'permanent',
      },
    });
    expect(reannounced.death).toEqual({ cause: 'address-refused' });
  });

  it('a named secret the provider does not have (SECRET_NOT_FOUND, unrelated message): create it or name another', () => {
    const { death, actions } = dead({
      attempts: 0,
      error: { type: 'PermanentError', message: UNRELATED, class: 'permanent', code: ErrorCode.SECRET_NOT_FOUND },
    });
    expect(death).toMatchObject({ cause: 'no-key', why: 'missing-secret' });
    expect(actions).toMatch(/was not found at the secrets provider/);
  });
});

describe('secrets: "no longer exists" by code and type, never by wording', () => {
  const refreshFailed = (failed: Array<Record<string, unknown>>, error: Record<string, unknown>) =>
    toAlert('secrets.refresh-failed', {
      id: 'ev-1',
      data: { names: failed.map((f) => f.name), provider: 'file', severity: 'WARNING', total: 4, failed, error },
    })!;

  it('per secret: the not-found type or code decides, whatever the message says', () => {
    const alert = refreshFailed(
      [
        { name: 'gone', type: 'ResourceNotFoundException', error: UNRELATED },
        { name: 'coded', type: 'PermanentError', code: ErrorCode.SECRET_NOT_FOUND, error: UNRELATED },
        // a missing secrets file says "does not exist" for every secret: no secret is gone for that
        { name: 'db', type: 'ENOENT', error: 'secret "db" does not exist in the file provider' },
      ],
      { type: 'MultipleErrors', message: UNRELATED, class: 'transient' },
    );
    expect(secretsByOutcome(alert)).toEqual({ notFound: ['gone', 'coded'], failing: ['db'] });
  });

  it("without the per-secret list: the event error's type or code, not a message naming ResourceNotFoundException", () => {
    const bare = (error: Record<string, unknown>) =>
      toAlert('secrets.refresh-failed', { id: 'ev-2', data: { names: ['a', 'b'], provider: 'aws', error } })!;
    expect(
      secretsByOutcome(bare({ type: 'ResourceNotFoundException', message: UNRELATED, class: 'permanent' })).notFound,
    ).toEqual(['a', 'b']);
    expect(
      secretsByOutcome(
        bare({
          type: 'MultipleErrors',
          message: '2 of 2 secrets failed to refresh: a (ResourceNotFoundException), b (InternalServiceError)',
          class: 'transient',
        }),
      ).notFound,
    ).toEqual([]);
  });

  it('isSecretNotFound reads the leading type and code of the per-secret error texts the notifier builds', () => {
    expect(isSecretNotFound(`ResourceNotFoundException: ${UNRELATED}`)).toBe(true);
    expect(isSecretNotFound(`PermanentError (${ErrorCode.SECRET_NOT_FOUND}): ${UNRELATED}`)).toBe(true);
    expect(isSecretNotFound(`Error ${ErrorCode.SECRET_NOT_FOUND} ${UNRELATED}`)).toBe(true);
    expect(isSecretNotFound('ENOENT: secret "db" does not exist in the file provider')).toBe(false);
    expect(isSecretNotFound(`InternalServiceError: ${ErrorCode.SECRET_NOT_FOUND} ResourceNotFoundException`)).toBe(
      false,
    );
  });
});
