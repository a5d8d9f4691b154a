import {
  alertCliSchema,
  baseEnvSchema,
  durationSchema,
  envListSchema,
  httpPortSchema,
  jobDeadlineEnv,
} from '@vigil/shared';
import { z } from 'zod';

/** The runner's environment (contract §3 plus the runner's own knobs, documented in README.md). */
export const reportsEnvSchema = baseEnvSchema.extend({
  HTTP_PORT: httpPortSchema(8081),
  VIGIL_JOBS_FILE: z.string().min(1).default('./jobs.yaml'),
  /** Runs executing at once in this replica (all jobs together). */
  RUNNER_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(50),
  /** A run not acknowledged nor heartbeated for this long is redelivered to another replica. */
  RUNNER_ACK_WAIT: durationSchema.default(30_000),
  /** Runs longer than this publish `job.started`; shorter ones only their terminal event. */
  RUNNER_STARTED_AFTER: durationSchema.default(250),
  /** Default OpenAI-compatible endpoint and model chain for `report.daily` when a job names none. */
  LLM_ENDPOINT: z.preprocess((v) => (v === '' ? undefined : v), z.url().optional()),
  LLM_MODELS: envListSchema(),
  /** How the commands in the daily health report call the CLI (the notifier's variable, read here too). */
  ALERT_CLI: alertCliSchema,
  /** The scheduler's defaults for jobs that set no deadline: health.daily judges runs without a verdict by them. */
  ...jobDeadlineEnv,
});

export type ReportsConfig = z.infer<typeof reportsEnvSchema>;

/**
 * Vigil's own credentials: a job's command never needs them, and whatever it prints can end up in events. A job that
 * does need a value gives it in its `env:` (from a `${secret:…}`).
 */
const NOT_INHERITED =
  /^(NATS_(PASSWORD|CREDS|USER)|VIGIL_API_TOKEN|SECRETS_CACHE_KEY|WEBHOOKS_SIGNING_SECRET|SMTP_URL|REDIS_URL|ALERT_WEBHOOK_URL|OTEL_EXPORTER_OTLP(_[A-Z]+)?_HEADERS|AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)|VIGIL_SECRET_.+)$/;

/** The environment `command` jobs inherit (config.ts is the one place that reads process.env). */
export function inheritedEnv(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(source)) if (!NOT_INHERITED.test(k)) env[k] = v;
  // Where NATS is stays known (a job may run `vigil trigger …`); the user:password a URL may carry does not.
  if (env.NATS_URL) env.NATS_URL = withoutUserinfo(env.NATS_URL);
  return env;
}

/** `nats://u:p@a:4222,b:4222` -> `nats://a:4222,b:4222`: each server of the comma list without its userinfo. */
function withoutUserinfo(urls: string): string {
  return urls
    .split(',')
    .map((u) => u.trim().replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^@/]*@/i, '$1'))
    .join(',');
}
