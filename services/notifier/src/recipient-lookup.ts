import { stat } from 'node:fs/promises';
import {
  ErrorCode,
  errorCodeOf,
  errorMessage,
  type JobsFile,
  type Logger,
  loadJobsFile,
  type SecretsClient,
} from '@vigil/shared';
import type { Alert } from './alert.js';
import { type ResolvedRecipients, resolveRecipients } from './recipients.js';

export interface RecipientLookupOptions {
  jobsFile?: string;
  /** True when the path came from VIGIL_JOBS_FILE (a missing file is then worth a warning). */
  jobsFileExplicit: boolean;
  secrets?: Pick<SecretsClient, 'get'>;
  defaultSecret: string;
  admin?: string;
  dev?: string;
  logger: Logger;
  now: () => number;
}

const RELOAD_CHECK_MS = 10_000;
/**
 * After the secrets service failed to answer, skip that level for a while: an outage must not slow every alert. Short:
 * an alert whose recipients live in the secret waits (is retried) until it answers again.
 */
const SECRET_BACKOFF_MS = 5_000;

/**
 * Feeds the recipients cascade from its real sources: the jobs file (re-read when it changes), the job's alert
 * secret through the secrets service, then the ADMIN_EMAIL / DEV_EMAIL_ADDRESSES variables.
 */
export class RecipientLookup {
  private jobs?: JobsFile;
  private mtimeMs = -1;
  private checkedAt = Number.NEGATIVE_INFINITY;
  /** Per alert secret: until when it is not asked again, and the error that made it so. */
  private readonly secretDown = new Map<string, { until: number; since: number; error: string }>();

  /** `<job>\u0000<secret>` already warned about: one warning per job and secret, not one per alert of a storm. */
  private readonly missingWarned = new Set<string>();

  constructor(private readonly opts: RecipientLookupOptions) {}

  /** A job's `alerts.secret` names a secret the provider does not have: its alerts fall to ADMIN_EMAIL silently. */
  private warnMissingSecret(job: string, secretName: string): void {
    const key = `${job}\u0000${secretName}`;
    if (this.missingWarned.has(key) || this.missingWarned.size >= 1_000) return;
    this.missingWarned.add(key);
    this.opts.logger.warn(
      { job, secretName },
      `alerts.secret ${secretName} of job ${job} does not exist at the secrets provider: its alerts go to the next recipient level (ADMIN_EMAIL, DEV_EMAIL_ADDRESSES); create the secret or fix the name in the jobs file`,
    );
  }

  private async jobsFile(): Promise<JobsFile | undefined> {
    const path = this.opts.jobsFile;
    if (!path || this.opts.now() - this.checkedAt < RELOAD_CHECK_MS) return this.jobs;
    this.checkedAt = this.opts.now();
    try {
      const s = await stat(path);
      if (s.mtimeMs !== this.mtimeMs) {
        this.jobs = await loadJobsFile(path);
        this.mtimeMs = s.mtimeMs;
      }
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      // The notifier is the last line of defence: a bad jobs file must not silence it, only skip that level.
      if (!missing || this.opts.jobsFileExplicit) {
        this.opts.logger.warn({ err, path }, 'jobs file unreadable: job alert recipients skipped');
      }
    }
    return this.jobs;
  }

  /** Reads an alert secret through the secrets service; undefined when it does not exist. */
  private secretReader(secretName: string, job?: string): (() => Promise<string | undefined>) | undefined {
    const secrets = this.opts.secrets;
    if (!secrets) return undefined;
    return async () => {
      const now = this.opts.now();
      const down = this.secretDown.get(secretName);
      if (down && now < down.until) {
        const ago = Math.max(1, Math.round((now - down.since) / 1000));
        throw new Error(`not asked again ${ago} s after it failed: ${down.error}`);
      }
      try {
        const value = (await secrets.get(secretName)).value;
        this.secretDown.delete(secretName);
        return value;
      } catch (err) {
        if (errorCodeOf(err) === ErrorCode.SECRET_NOT_FOUND) {
          if (job) this.warnMissingSecret(job, secretName);
          return undefined;
        }
        const error = errorMessage(err);
        this.secretDown.set(secretName, { until: now + SECRET_BACKOFF_MS, since: now, error });
        throw err;
      }
    };
  }

  /**
   * Who gets an alert that names nobody (no job recipients) from the default alert secret alone
   * (ALERT_RECIPIENTS_SECRET): the readiness check `recipients` asks when no variable names a default recipient.
   */
  async defaultSecretRecipients(): Promise<ResolvedRecipients> {
    return resolveRecipients({ secret: this.secretReader(this.opts.defaultSecret) });
  }

  async resolve(alert: Alert): Promise<ResolvedRecipients> {
    const job = alert.job ? (await this.jobsFile())?.jobs[alert.job] : undefined;
    const secretName = job?.alerts?.secret ?? this.opts.defaultSecret;
    const result = await resolveRecipients({
      request: alert.recipients,
      job: job?.alerts?.recipients,
      // only a secret the job names itself is worth a warning when missing (the default one is optional)
      secret: this.secretReader(secretName, job?.alerts?.secret ? alert.job : undefined),
      admin: this.opts.admin,
      dev: this.opts.dev,
    });
    if (result.invalid.length) {
      this.opts.logger.warn({ invalid: result.invalid, job: alert.job }, 'invalid alert recipient address(es) dropped');
    }
    if (result.problems.length)
      this.opts.logger.warn({ problems: result.problems, secretName }, 'recipient level skipped');
    if (result.unavailable) result.unreadSecret = secretName;
    return result;
  }
}
