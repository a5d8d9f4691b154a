import { z } from 'zod';
import { detailsSchema, ErrorInfoSchema, isoTime } from './common.js';

/** `webhook.send`: deliver `payload` to `url`, signed (Standard Webhooks); `id` is the idempotency key. */
/**
 * What a webhook id (the idempotency key, sent as `webhook-id`) may hold: it names Redis keys and a header, and a
 * receiver compares it byte for byte, so no spaces or other characters that travel badly.
 */
export const WEBHOOK_ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
export const WEBHOOK_ID_RULE = 'id may contain letters, digits and . _ : - only';

export const WebhookSendSchema = z.looseObject({
  id: z.string().min(1).max(200).regex(WEBHOOK_ID_PATTERN, WEBHOOK_ID_RULE).optional(),
  url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL with a host' }),
  eventType: z.string().min(1),
  payload: z.unknown().refine((v) => v !== undefined, { message: 'payload is required' }),
  secretName: z.string().min(1).optional(),
  /** Body shape: `standard` (default) = `{ type, timestamp, data: payload }`; `raw` = `payload` itself. */
  format: z.enum(['standard', 'raw']).optional(),
});
export type WebhookSend = z.infer<typeof WebhookSendSchema>;

const deliveryBase = {
  id: z.string().min(1),
  url: z.string(),
  eventType: z.string().optional(),
  at: isoTime,
  details: detailsSchema.optional(),
};

/** `webhook.delivered`: the receiver answered 2xx. */
export const WebhookDeliveredSchema = z.looseObject({
  ...deliveryBase,
  attempt: z.number().int().positive(),
  status: z.number().int(),
  durationMs: z.number().nonnegative().optional(),
});
export type WebhookDelivered = z.infer<typeof WebhookDeliveredSchema>;

/** `webhook.attempt-failed`: one attempt failed; another follows at `nextAttemptAt` unless dead. */
export const WebhookAttemptFailedSchema = z.looseObject({
  ...deliveryBase,
  attempt: z.number().int().positive(),
  status: z.number().int().optional(),
  error: ErrorInfoSchema,
  nextAttemptAt: isoTime.optional(),
  durationMs: z.number().nonnegative().optional(),
});
export type WebhookAttemptFailed = z.infer<typeof WebhookAttemptFailedSchema>;

/** `webhook.dead`: delivery given up (attempts exhausted or a permanent failure). */
export const WebhookDeadSchema = z.looseObject({
  ...deliveryBase,
  attempts: z.number().int().nonnegative(),
  status: z.number().int().optional(),
  error: ErrorInfoSchema,
});
export type WebhookDead = z.infer<typeof WebhookDeadSchema>;
