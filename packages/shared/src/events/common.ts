import { z } from 'zod';

/** ISO-8601 timestamp with offset (what Date.toISOString() writes). */
export const isoTime = z.iso.datetime({ offset: true });

/** The contract's `error` object on events (see toErrorInfo). */
export const ErrorInfoSchema = z.looseObject({
  type: z.string(),
  message: z.string(),
  stack: z.string().optional(),
  class: z.enum(['validation', 'transient', 'permanent', 'unexpected']),
  code: z.string().optional(),
});
export type EventErrorInfo = z.infer<typeof ErrorInfoSchema>;

export const detailsSchema = z.record(z.string(), z.unknown());
