import { z } from 'zod';
import { durationSchema } from '../config/duration.js';

// Shapes only; cross-field rules (cron, zones, handler blocks) live in validate.ts so every problem gets a line.

const stringMap = z.record(z.string(), z.string());

export const httpOptionsSchema = z.strictObject({
  url: z.string().min(1),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
  headers: stringMap.optional(),
  body: z.unknown().optional(),
  timeout: durationSchema.optional(),
  expectStatus: z.array(z.number().int().min(100).max(599)).optional(),
});

export const commandOptionsSchema = z.strictObject({
  run: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  timeout: durationSchema.optional(),
  env: stringMap.optional(),
  cwd: z.string().optional(),
});

const freeOptions = z.record(z.string(), z.unknown());

export const retriesSchema = z.strictObject({
  max: z.number().int().min(0).max(100).optional(),
  backoff: z.enum(['exponential', 'fixed']).optional(),
  base: durationSchema.optional(),
  cap: durationSchema.optional(),
});

export const jobSchema = z.strictObject({
  description: z.string().optional(),
  schedule: z.string().min(1).optional(),
  every: durationSchema.optional(),
  timezone: z.string().min(1).optional(),
  handler: z.string().min(1),
  targets: z.union([z.array(z.string().min(1)), z.strictObject({ secret: z.string().min(1) })]).optional(),
  timeout: durationSchema.optional(),
  startDeadline: durationSchema.optional(),
  backup: z.strictObject({ after: durationSchema }).optional(),
  retries: retriesSchema.optional(),
  concurrency: z.enum(['forbid', 'allow', 'replace']).optional(),
  catchUp: durationSchema.optional(),
  alerts: z
    .strictObject({ recipients: z.array(z.string().min(3)).optional(), secret: z.string().min(1).optional() })
    .optional(),
  http: httpOptionsSchema.optional(),
  command: commandOptionsSchema.optional(),
  report: freeOptions.optional(),
  health: freeOptions.optional(),
  module: freeOptions.optional(),
});

export const jobsFileSchema = z.strictObject({
  timezone: z.string().min(1).optional(),
  jobs: z.record(z.string(), jobSchema),
});

export type RawJob = z.infer<typeof jobSchema>;
export type RawJobsFile = z.infer<typeof jobsFileSchema>;
