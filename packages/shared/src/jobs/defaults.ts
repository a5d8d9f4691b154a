import type { JobRetries } from './types.js';

export const DEFAULT_TIMEZONE = 'UTC';
export const DEFAULT_RETRIES: JobRetries = { max: 3, backoff: 'exponential', base: 5_000, cap: 300_000 };
export const JOB_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const HANDLERS = ['http', 'command', 'report.daily', 'health.daily'] as const;

/** The key holding a handler's options: `report.daily` -> `report`, `module:./x.mjs` -> `module`. */
export function optionsKeyFor(handler: string): string {
  if (handler.startsWith('module:')) return 'module';
  return handler.split('.')[0];
}

export const OPTION_KEYS = ['http', 'command', 'report', 'health', 'module'] as const;
