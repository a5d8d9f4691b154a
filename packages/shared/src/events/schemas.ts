import type { z } from 'zod';
import { JobCancelSchema, JobRunSchema, JobTriggerSchema, JOB_RUN_EVENTS } from './jobs.js';
import { NotificationFailedSchema, NotificationSentSchema, NotifySendSchema } from './notify.js';
import { BreakerEventSchema, ServiceEventSchema } from './ops.js';
import { SecretsRefreshedSchema, SecretsRefreshFailedSchema, SecretsStaleServedSchema } from './secrets.js';
import { subjectMatches } from './subject-match.js';
import {
  WebhookAttemptFailedSchema,
  WebhookDeadSchema,
  WebhookDeliveredSchema,
  WebhookSendSchema,
} from './webhooks.js';

type Entry = { pattern: string; schema: z.ZodType };

const builtIn: Entry[] = [
  { pattern: 'job.trigger.*', schema: JobTriggerSchema },
  { pattern: 'job.cancel.*', schema: JobCancelSchema },
  ...JOB_RUN_EVENTS.map((verb) => ({ pattern: `job.${verb}.*`, schema: JobRunSchema as z.ZodType })),
  { pattern: 'secrets.refreshed', schema: SecretsRefreshedSchema },
  { pattern: 'secrets.refresh-failed', schema: SecretsRefreshFailedSchema },
  { pattern: 'secrets.stale-served', schema: SecretsStaleServedSchema },
  { pattern: 'webhook.send', schema: WebhookSendSchema },
  { pattern: 'webhook.delivered', schema: WebhookDeliveredSchema },
  { pattern: 'webhook.attempt-failed', schema: WebhookAttemptFailedSchema },
  { pattern: 'webhook.dead', schema: WebhookDeadSchema },
  { pattern: 'notify.send', schema: NotifySendSchema },
  { pattern: 'notification.sent', schema: NotificationSentSchema },
  { pattern: 'notification.failed', schema: NotificationFailedSchema },
  { pattern: 'breaker.opened.*.*', schema: BreakerEventSchema },
  { pattern: 'breaker.half-open.*.*', schema: BreakerEventSchema },
  { pattern: 'breaker.closed.*.*', schema: BreakerEventSchema },
  { pattern: 'service.*', schema: ServiceEventSchema },
];

const extra: Entry[] = [];
const cache = new Map<string, z.ZodType | null>();
const CACHE_LIMIT = 10_000;

/**
 * The zod schema of a subject's `data`, or undefined when the contract defines none
 * (publish and consume refuse such subjects). Cached: called for every message.
 */
export function schemaForSubject(subject: string): z.ZodType | undefined {
  const hit = cache.get(subject);
  if (hit !== undefined) return hit ?? undefined;
  let found: z.ZodType | null = null;
  for (const e of extra) if (subjectMatches(e.pattern, subject)) found = e.schema;
  if (!found) for (const e of builtIn) if (subjectMatches(e.pattern, subject)) found = e.schema;
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(subject, found);
  return found ?? undefined;
}

/**
 * Adds (or overrides) the schema of a subject pattern (NATS wildcards) for an event that is not in
 * the contract yet. Later registrations win.
 */
export function registerEventSchema(pattern: string, schema: z.ZodType): void {
  extra.push({ pattern, schema });
  cache.clear();
}
