import { alertCliSchema, baseEnvSchema, durationSchema, httpPortSchema, validAddress } from '@vigil/shared';
import { z } from 'zod';
import { parseRecipientList } from './recipients.js';
import { smtpOptionsFromUrl } from './smtp-options.js';

function readableSmtpUrl(text: string): boolean {
  try {
    return smtpOptionsFromUrl(text).host.length > 0;
  } catch {
    return false;
  }
}

/**
 * ADMIN_EMAIL / DEV_EMAIL_ADDRESSES: one address or a list (comma, semicolon or newline; `Name <a@b.c>` allowed),
 * each checked like every alert recipient (`validAddress`). A typo (`ops@`, `ops example.com`) would otherwise
 * only show as a dropped recipient at the first alert, which then reaches fewer people or nobody: it stops the
 * notifier at start instead (exit 78, naming the variable and the bad entries).
 */
export const alertAddressesSchema = z.string().superRefine((value, ctx) => {
  const entries = parseRecipientList(value);
  if (entries.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'lists no address (e.g. ops@example.com, or a comma-separated list)' });
    return;
  }
  const bad = entries.filter((e) => !validAddress(e));
  if (bad.length > 0) {
    const shown = bad
      .slice(0, 5)
      .map((b) => JSON.stringify(b.length > 80 ? `${b.slice(0, 79)}…` : b))
      .join(', ');
    ctx.addIssue({
      code: 'custom',
      message: `has ${bad.length === 1 ? 'an invalid address' : `${bad.length} invalid addresses`}: ${shown}${bad.length > 5 ? ', …' : ''} (expected name@domain.tld or "Name <name@domain.tld>", comma-separated)`,
    });
  }
});

/** The notifier's environment (contract §3 plus a few tuning knobs with safe defaults). */
export const notifierEnvSchema = baseEnvSchema.extend({
  HTTP_PORT: httpPortSchema(8082),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://')
    // Checked here so a bad URL stops the service at start (exit 78), not at the first alert.
    .refine(
      (v) => readableSmtpUrl(v),
      'is not a valid URL (smtp://user:password@host:port; percent-encode special characters in the password)',
    )
    .default('smtp://127.0.0.1:1025'),
  ALERT_FROM: z.string().min(3).default('Vigil <vigil@localhost>'),
  ADMIN_EMAIL: alertAddressesSchema.optional(),
  DEV_EMAIL_ADDRESSES: alertAddressesSchema.optional(),
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** `fallback` (default): only when email fails; `always`: a copy of every alert (monitoring tools). */
  ALERT_WEBHOOK_MODE: z.enum(['fallback', 'always']).default('fallback'),
  /** 0 turns grouping off: every alert is sent at once. */
  ALERT_GROUP_INTERVAL: durationSchema.default(300_000),
  VIGIL_JOBS_FILE: z.string().optional(),
  VIGIL_PUBLIC_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
  /** How the re-run command in alerts calls the CLI: `vigil` where it is installed (the image), `npx vigil` in a checkout. */
  ALERT_CLI: alertCliSchema,
  /** Secret read when a job names none (or for alerts not about a job). */
  ALERT_RECIPIENTS_SECRET: z.string().min(1).default('job_failure_recipients'),
  /**
   * Events older than this when first seen (a notifier that was down for days) are not emailed one by one: they are
   * listed in one digest email once the backlog is drained.
   */
  ALERT_MAX_AGE: durationSchema.default(86_400_000),
  /**
   * The service watchdog: a Vigil service seen answering once, then with no instance answering for this long, or
   * answering with no instance ready for this long, gets one CRITICAL alert (and one resolved notice when it answers,
   * or is ready, again); the crash-loop warning has its own fixed window (watchdog-restarts.ts). `0` or `off` turns
   * the watchdog off.
   */
  WATCHDOG_DOWN_AFTER: z
    .preprocess((v) => (typeof v === 'string' && /^\s*(off|false|no|none)\s*$/i.test(v) ? 0 : v), durationSchema)
    .refine(
      (ms) => ms === 0 || (ms >= 10_000 && ms <= 86_400_000),
      'must be 0 or off (no watchdog), or a duration from 10s to 24h, e.g. 2m',
    )
    .default(120_000),
  SMTP_TIMEOUT: durationSchema.default(10_000),
  SMTP_BREAKER_RESET: durationSchema.default(30_000),
});

export type NotifierConfig = z.infer<typeof notifierEnvSchema>;
