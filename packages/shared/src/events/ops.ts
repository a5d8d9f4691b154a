import { z } from 'zod';
import { detailsSchema, ErrorInfoSchema, isoTime } from './common.js';

export const BREAKER_STATES = ['open', 'half-open', 'closed'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

/** `breaker.opened|half-open|closed.<service>.<name>`. */
export const BreakerEventSchema = z.looseObject({
  service: z.string().min(1),
  name: z.string().min(1),
  /** The service instance whose breaker it is (each replica has its own); absent from publishers before it. */
  instance: z.string().optional(),
  state: z.enum(BREAKER_STATES),
  at: isoTime,
  failures: z.number().int().nonnegative().optional(),
  error: ErrorInfoSchema.optional(),
});
export type BreakerEvent = z.infer<typeof BreakerEventSchema>;

/** `service.<verb>` (e.g. service.started, service.stopping): lifecycle of a service instance. */
export const ServiceEventSchema = z.looseObject({
  service: z.string().min(1),
  instance: z.string().optional(),
  version: z.string().optional(),
  at: isoTime,
  details: detailsSchema.optional(),
});
export type ServiceEvent = z.infer<typeof ServiceEventSchema>;
