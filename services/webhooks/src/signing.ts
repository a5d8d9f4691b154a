import { createHmac } from 'node:crypto';
import { ValidationError } from '@vigil/shared';

const PREFIX = 'whsec_';

/** Decodes a Standard Webhooks key (`whsec_<base64>`, or bare base64) into its raw bytes. */
export function decodeSigningKey(secret: string): Buffer {
  const text = secret.trim().startsWith(PREFIX) ? secret.trim().slice(PREFIX.length) : secret.trim();
  const key = Buffer.from(text, 'base64');
  // Buffer.from silently drops garbage; a round trip catches keys that are not base64 at all.
  if (key.length < 16 || key.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) {
    throw new ValidationError('signing key must be whsec_ followed by base64 of at least 16 bytes');
  }
  return key;
}

export interface SignInput {
  id: string;
  /** Unix seconds, as sent in `webhook-timestamp`. */
  timestamp: number;
  body: string;
  key: Buffer;
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per the Standard Webhooks spec. */
export function sign({ id, timestamp, body, key }: SignInput): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** The three headers a receiver verifies; without a key (an unsigned raw body) the id and timestamp only. */
export function signatureHeaders(input: Omit<SignInput, 'key'> & { key?: Buffer }): Record<string, string> {
  const { key } = input;
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
    ...(key ? { 'webhook-signature': sign({ ...input, key }) } : {}),
  };
}
