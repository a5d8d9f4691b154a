import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { decodeSigningKey, signatureHeaders } from '../src/signing.js';

describe('signing (Standard Webhooks)', () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;

  it('produces headers the standardwebhooks library accepts', () => {
    const body = JSON.stringify({ type: 'job.failed', data: { ok: false, text: 'ünïcödé' } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = signatureHeaders({ id: 'msg_1', timestamp: ts, body, key: decodeSigningKey(secret) });
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('a tampered body or another key fails verification', () => {
    const body = '{"a":1}';
    const ts = Math.floor(Date.now() / 1000);
    const headers = signatureHeaders({ id: 'msg_2', timestamp: ts, body, key: decodeSigningKey(secret) });
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow();
    const other = `whsec_${randomBytes(24).toString('base64')}`;
    expect(() => new Webhook(other).verify(body, headers)).toThrow();
  });

  it('refuses keys that are not base64 of at least 16 bytes', () => {
    expect(() => decodeSigningKey('whsec_short')).toThrow(/whsec_/);
    expect(() => decodeSigningKey('whsec_!!!not base64!!!!!!!!!!!!!!')).toThrow();
    expect(decodeSigningKey(secret)).toHaveLength(24);
  });
});
