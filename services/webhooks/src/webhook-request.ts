import {
  ErrorCode,
  SECRET_NAME_PATTERN,
  SECRET_NAME_RULE,
  ValidationError,
  WEBHOOK_ID_PATTERN,
  WEBHOOK_ID_RULE,
} from '@vigil/shared';
import { z } from 'zod';

export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** The `webhook.send` command (contract §4): `id` is the idempotency key. */
export const webhookSendSchema = z.object({
  id: z.string().min(1).max(200).regex(WEBHOOK_ID_PATTERN, WEBHOOK_ID_RULE).optional(),
  url: z.string().min(1).max(2048),
  eventType: z.string().min(1).max(200),
  payload: z.unknown(),
  secretName: z.string().regex(SECRET_NAME_PATTERN, `secretName: ${SECRET_NAME_RULE}`).optional(),
  /** `standard` (default): Standard Webhooks envelope; `raw`: `payload` itself is the body (Slack, Teams…). */
  format: z.enum(['standard', 'raw']).optional(),
});

export type WebhookSendInput = z.infer<typeof webhookSendSchema>;

/** A validated request with its id fixed: what is queued, signed and sent. */
export interface WebhookRequest {
  id: string;
  url: string;
  eventType: string;
  payload: unknown;
  secretName?: string;
  /** Absent = `standard`. */
  format?: WebhookBodyFormat;
}

export type WebhookBodyFormat = 'standard' | 'raw';

/** A request as the worker holds it: with its payload serialised once (size check and body share it). */
export interface ParsedWebhookRequest extends WebhookRequest {
  payloadJson: string;
}

/** Only http and https, with a host; anything else (file:, gopher:, javascript:) is refused outright. */
export function parseWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(`invalid webhook url: ${JSON.stringify(text.slice(0, 200))}`, {
      code: ErrorCode.WEBHOOK_URL_REFUSED,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError(`webhook url must be http or https, got ${url.protocol}`, {
      code: ErrorCode.WEBHOOK_URL_REFUSED,
    });
  }
  if (!url.hostname) throw new ValidationError('webhook url has no host', { code: ErrorCode.WEBHOOK_URL_REFUSED });
  return url;
}

/** The exact bytes sent: the same on every attempt, so a receiver can dedupe and verify each one. */
export function renderBody(req: WebhookRequest | ParsedWebhookRequest, createdAtMs: number): string {
  const data = 'payloadJson' in req ? req.payloadJson : JSON.stringify(req.payload ?? null);
  // Raw: receivers with a fixed schema (a Slack incoming webhook wants `{ text, blocks }` at the top level).
  if (req.format === 'raw') return data;
  const ts = new Date(createdAtMs).toISOString();
  return `{"type":${JSON.stringify(req.eventType)},"timestamp":"${ts}","data":${data}}`;
}

/**
 * Validates shape, size and URL of a `webhook.send` and fixes its id. Throws ValidationError
 * (code WEBHOOK_PAYLOAD_TOO_LARGE for payloads over 256 KiB, WEBHOOK_URL_REFUSED for bad URLs).
 */
export function toWebhookRequest(input: unknown, newId: () => string): ParsedWebhookRequest {
  const parsed = webhookSendSchema.safeParse(input);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new ValidationError(`invalid webhook request: ${why}`);
  }
  const data = parsed.data;
  const payloadJson = JSON.stringify(data.payload ?? null);
  const size = Buffer.byteLength(payloadJson, 'utf8');
  if (size > MAX_PAYLOAD_BYTES) {
    throw new ValidationError(`payload is ${size} bytes, the limit is ${MAX_PAYLOAD_BYTES}`, {
      code: ErrorCode.WEBHOOK_PAYLOAD_TOO_LARGE,
    });
  }
  parseWebhookUrl(data.url);
  return {
    id: data.id ?? newId(),
    url: data.url,
    eventType: data.eventType,
    payload: data.payload,
    ...(data.secretName ? { secretName: data.secretName } : {}),
    ...(data.format === 'raw' ? { format: 'raw' as const } : {}),
    payloadJson,
  };
}
