import { randomBytes } from 'node:crypto';
import { classify, ErrorCode, PermanentError, TransientError } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { type SecretSource, SigningKeys } from '../src/signing-keys.js';

const KEY = `whsec_${randomBytes(24).toString('base64')}`;

const source = (get: SecretSource['get']): SecretSource => ({ get });

/** The error keyFor rejects with: its class (what the delivery worker acts on) and its code (what alerts advise by). */
async function failure(keys: SigningKeys, secretName?: string) {
  const err = await keys.keyFor(secretName).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  return { class: classify(err), code: (err as { code?: string }).code, message: (err as Error).message };
}

describe('signing keys: each failure has its own code and the right class', () => {
  it('no secretName and no WEBHOOKS_SIGNING_SECRET: permanent, WEBHOOK_SIGNING_KEY_MISSING', async () => {
    const keys = new SigningKeys(
      source(async () => ({ value: KEY })),
      undefined,
    );
    expect(await failure(keys)).toMatchObject({ class: 'permanent', code: ErrorCode.WEBHOOK_SIGNING_KEY_MISSING });
  });

  it('a secretName without a secrets client: permanent, WEBHOOK_SECRETS_UNCONFIGURED (not the transient SECRET_UNAVAILABLE)', async () => {
    const keys = new SigningKeys(undefined, KEY);
    const f = await failure(keys, 'partner-key');
    expect(f).toMatchObject({ class: 'permanent', code: ErrorCode.WEBHOOK_SECRETS_UNCONFIGURED });
    expect(f.code).not.toBe(ErrorCode.SECRET_UNAVAILABLE);
  });

  it('a secret that is no whsec_ key: permanent, WEBHOOK_SIGNING_KEY_INVALID (not a validation error of the request)', async () => {
    const keys = new SigningKeys(
      source(async () => ({ value: 'hunter2' })),
      KEY,
    );
    expect(await failure(keys, 'partner-key')).toMatchObject({
      class: 'permanent',
      code: ErrorCode.WEBHOOK_SIGNING_KEY_INVALID,
      message: expect.stringContaining('partner-key'),
    });
  });

  it("the secrets client's errors pass unchanged: not found stays permanent, an outage stays transient", async () => {
    const missing = new SigningKeys(
      source(async () => {
        throw new PermanentError('secret "nope" does not exist in the file provider', {
          code: ErrorCode.SECRET_NOT_FOUND,
        });
      }),
      KEY,
    );
    expect(await failure(missing, 'nope')).toMatchObject({ class: 'permanent', code: ErrorCode.SECRET_NOT_FOUND });
    const down = new SigningKeys(
      source(async () => {
        throw new TransientError('secret "k" is unavailable: secrets service unreachable', {
          code: ErrorCode.SECRET_UNAVAILABLE,
        });
      }),
      KEY,
    );
    expect(await failure(down, 'k')).toMatchObject({ class: 'transient', code: ErrorCode.SECRET_UNAVAILABLE });
  });

  it('a valid key is returned: the named one, else the default', async () => {
    const keys = new SigningKeys(
      source(async () => ({ value: KEY })),
      KEY,
    );
    expect(await keys.keyFor('partner-key')).toHaveLength(24);
    expect(await keys.keyFor(undefined)).toHaveLength(24);
  });
});
