import { ErrorCode, PermanentError } from '@vigil/shared';
import { decodeSigningKey } from './signing.js';

/** The part of the shared secrets client this service needs. */
export interface SecretSource {
  get(name: string): Promise<{ value: string }>;
}

/**
 * A `raw` body (a Slack or Teams incoming webhook, whose URL is the credential and which checks no signature) with
 * no key named and none configured goes unsigned: refusing it would make the notifier's chat fallback, the channel
 * of last resort when SMTP is down, depend on a signing secret its receiver never reads. A Standard Webhooks
 * envelope is always signed.
 */
export function unsigned(req: { format?: string; secretName?: string }, keys: { hasDefault: boolean }): boolean {
  return req.format === 'raw' && !req.secretName && !keys.hasDefault;
}

/** Finds the Standard Webhooks key of a request: its named secret, else WEBHOOKS_SIGNING_SECRET. */
export class SigningKeys {
  private readonly fallback?: Buffer;

  constructor(
    private readonly secrets: SecretSource | undefined,
    defaultSecret: string | undefined,
  ) {
    this.fallback = defaultSecret ? decodeSigningKey(defaultSecret) : undefined;
  }

  get hasDefault(): boolean {
    return this.fallback !== undefined;
  }

  /**
   * Secret-service outages surface as the client's TransientError VIGIL_E_SECRET_UNAVAILABLE (retried without
   * burning an attempt). Everything else is permanent for this request (no retry can fix it; a replay can, once the
   * key or the configuration is fixed), each with its own code, which the notifier's advice follows: no key at all
   * (WEBHOOK_SIGNING_KEY_MISSING), no secrets client (WEBHOOK_SECRETS_UNCONFIGURED), a named secret the provider does
   * not have (the client's SECRET_NOT_FOUND, passed on), a secret that is no whsec_ key (WEBHOOK_SIGNING_KEY_INVALID).
   * The messages keep their wording: notifiers of older versions still read it.
   */
  async keyFor(secretName: string | undefined): Promise<Buffer> {
    if (!secretName) {
      if (this.fallback) return this.fallback;
      throw new PermanentError('no signing key: the request names no secretName and WEBHOOKS_SIGNING_SECRET is unset', {
        code: ErrorCode.WEBHOOK_SIGNING_KEY_MISSING,
      });
    }
    if (!this.secrets) {
      throw new PermanentError(`secret ${secretName} requested but no secrets client is configured`, {
        code: ErrorCode.WEBHOOK_SECRETS_UNCONFIGURED,
        details: { secretName },
      });
    }
    const secret = await this.secrets.get(secretName);
    try {
      return decodeSigningKey(secret.value);
    } catch (err) {
      throw new PermanentError(`secret ${secretName} is not a Standard Webhooks key (whsec_…)`, {
        code: ErrorCode.WEBHOOK_SIGNING_KEY_INVALID,
        details: { secretName },
        cause: err,
      });
    }
  }
}
