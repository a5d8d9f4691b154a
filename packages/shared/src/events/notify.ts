import { z } from 'zod';
import { detailsSchema, ErrorInfoSchema, isoTime } from './common.js';

export const SEVERITIES = ['CRITICAL', 'WARNING', 'INFO'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * A severity as other programs write it: `critical` or `Warning` is no reason to lose someone's alert to the dead
 * letters, so case is not part of the contract's words; anything else is still refused.
 */
const anyCaseSeverity = z.preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum(SEVERITIES));

/** `notify.send`: ask the notifier to alert people. */
export const NotifySendSchema = z.looseObject({
  severity: anyCaseSeverity,
  title: z.string().min(1),
  body: z.string(),
  recipients: z.array(z.string().min(1)).optional(),
  dedupeKey: z.string().min(1).optional(),
  details: detailsSchema.optional(),
});
export type NotifySend = z.infer<typeof NotifySendSchema>;

/** `notification.sent`: a notification left through `channel` (email, webhook, ...). */
export const NotificationSentSchema = z.looseObject({
  channel: z.string().min(1),
  severity: z.enum(SEVERITIES).optional(),
  title: z.string().optional(),
  recipients: z.array(z.string()).optional(),
  dedupeKey: z.string().optional(),
  /** Id of the event that caused it (job.failed, notify.send, ...). */
  sourceEventId: z.string().optional(),
  sourceSubject: z.string().optional(),
  messageId: z.string().optional(),
  at: isoTime,
  details: detailsSchema.optional(),
});
export type NotificationSent = z.infer<typeof NotificationSentSchema>;

/** `notification.failed`: no channel (or the named one) could deliver it. */
export const NotificationFailedSchema = z.looseObject({
  channel: z.string().optional(),
  severity: z.enum(SEVERITIES).optional(),
  title: z.string().optional(),
  recipients: z.array(z.string()).optional(),
  dedupeKey: z.string().optional(),
  sourceEventId: z.string().optional(),
  sourceSubject: z.string().optional(),
  error: ErrorInfoSchema,
  at: isoTime,
  details: detailsSchema.optional(),
});
export type NotificationFailed = z.infer<typeof NotificationFailedSchema>;

// Deliberately simple: one @, no spaces or brackets, a dot in the domain. Display names are accepted ("Ops <ops@x.io>").
const ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

/** The bare address of "Name <a@b.c>" or "a@b.c", if valid (the notifier and the CLI judge addresses alike). */
export function validAddress(raw: string): string | undefined {
  const text = raw.trim();
  const m = /<([^<>]+)>\s*$/.exec(text);
  const addr = (m ? m[1] : text).trim();
  return ADDRESS.test(addr) ? addr : undefined;
}
