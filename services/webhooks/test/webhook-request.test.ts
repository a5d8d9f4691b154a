import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES, renderBody, toWebhookRequest } from '../src/webhook-request.js';
import { newEventId as ulid } from '@vigil/shared';

describe('webhook request', () => {
  it('keeps a given id and generates a ULID when absent', () => {
    const base = { url: 'https://example.com/h', eventType: 'job.failed', payload: { a: 1 } };
    expect(toWebhookRequest({ ...base, id: 'abc-1' }, ulid).id).toBe('abc-1');
    expect(toWebhookRequest(base, ulid).id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('refuses payloads over 256 KiB with a specific code', () => {
    const payload = { blob: 'x'.repeat(MAX_PAYLOAD_BYTES) };
    expect(() => toWebhookRequest({ url: 'https://e.com', eventType: 't', payload }, ulid)).toThrow(
      expect.objectContaining({ code: 'VIGIL_E_WEBHOOK_PAYLOAD_TOO_LARGE', errorClass: 'validation' }),
    );
  });

  it.each(['ftp://e.com/x', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', 'gopher://e.com'])(
    'refuses url %s',
    (url) => {
      expect(() => toWebhookRequest({ url, eventType: 't', payload: {} }, ulid)).toThrow(
        expect.objectContaining({ code: 'VIGIL_E_WEBHOOK_URL_REFUSED' }),
      );
    },
  );

  it('refuses missing fields and odd ids', () => {
    expect(() => toWebhookRequest({ url: 'https://e.com' }, ulid)).toThrow(/eventType/);
    expect(() => toWebhookRequest({ id: 'a b', url: 'https://e.com', eventType: 't' }, ulid)).toThrow(/id/);
  });

  it('renders the same body on every attempt', () => {
    const req = toWebhookRequest({ id: 'x', url: 'https://e.com', eventType: 't', payload: { n: 1 } }, ulid);
    expect(renderBody(req, 0)).toBe(renderBody(req, 0));
    expect(JSON.parse(renderBody(req, 0))).toEqual({
      type: 't',
      timestamp: '1970-01-01T00:00:00.000Z',
      data: { n: 1 },
    });
  });

  it('format raw: the payload itself is the body; standard (the default) wraps it; anything else is refused', () => {
    const base = { id: 'x', url: 'https://e.com', eventType: 't', payload: { text: 'hi', blocks: [] } };
    const raw = toWebhookRequest({ ...base, format: 'raw' }, ulid);
    expect(raw.format).toBe('raw');
    expect(renderBody(raw, 0)).toBe('{"text":"hi","blocks":[]}');
    const std = toWebhookRequest({ ...base, format: 'standard' }, ulid);
    expect(JSON.parse(renderBody(std, 0))).toEqual({
      type: 't',
      timestamp: '1970-01-01T00:00:00.000Z',
      data: base.payload,
    });
    expect(renderBody(std, 0)).toBe(renderBody(toWebhookRequest(base, ulid), 0));
    expect(() => toWebhookRequest({ ...base, format: 'xml' }, ulid)).toThrow(/format/);
  });
});
