import { errorMessage, type Logger, withTimeout } from '@vigil/shared';
import type { ResolvedRecipients } from './recipients.js';

export interface DefaultRecipientsOptions {
  /** ADMIN_EMAIL, DEV_EMAIL_ADDRESSES or ALERT_WEBHOOK_URL is set (valid: config.ts checks them at start). */
  configured: boolean;
  /** ALERT_RECIPIENTS_SECRET: the alert secret read for alerts that name no recipient of their own. */
  secretName: string;
  /** Reads that secret's level of the cascade alone. */
  probe: () => Promise<ResolvedRecipients>;
  now: () => number;
  logger: Logger;
  /** How long an answer naming someone is reused (readiness is polled often): 60 s. */
  refreshMs?: number;
  /** …and one naming nobody, so a fixed secret shows soon: 5 s. */
  retryMs?: number;
  /** How long the first readiness check waits for the first answer. */
  firstAnswerMs?: number;
}

const SET_ONE = 'Set ADMIN_EMAIL (or DEV_EMAIL_ADDRESSES, or ALERT_WEBHOOK_URL)';
const WHO =
  'alerts without recipients of their own (jobs without alerts.recipients; secrets, webhook, breaker and watchdog alerts)';

/**
 * Readiness check `recipients`: is there anyone to tell about an alert that names nobody? ADMIN_EMAIL,
 * DEV_EMAIL_ADDRESSES and ALERT_WEBHOOK_URL are the default recipients an operator sets; without any of them only
 * the default alert secret (ALERT_RECIPIENTS_SECRET, read through the secrets service) can name someone. When it
 * names nobody either, the first failure of such a job would reach nobody (an ERROR log, `notification.failed`,
 * the DLQ): the check fails, saying which variables to set, so an operator knows before that failure.
 */
export class DefaultRecipientsCheck {
  private verdict?: { at: number; problem?: string };
  private reading?: Promise<void>;

  constructor(private readonly o: DefaultRecipientsOptions) {}

  /** At start: the warning, and the first read of the secret (in the background). */
  start(): void {
    if (this.o.configured) return;
    this.o.logger.warn(
      { secretName: this.o.secretName },
      `no default alert recipient: ADMIN_EMAIL, DEV_EMAIL_ADDRESSES and ALERT_WEBHOOK_URL are all unset, so ${WHO} go only to the addresses in the secret ${this.o.secretName}, and to nobody if it has none (readiness check "recipients" says which). ${SET_ONE}.`,
    );
    void this.refresh();
  }

  private refresh(): Promise<void> {
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    let problem: string | undefined;
    try {
      const r = await this.o.probe();
      if (r.recipients.length === 0) {
        const name = this.o.secretName;
        problem = r.unavailable
          ? `no default alert recipient: ADMIN_EMAIL, DEV_EMAIL_ADDRESSES and ALERT_WEBHOOK_URL are unset and the secret ${name} could not be read (${r.problems.join('; ') || 'secrets service unavailable'}): ${WHO} wait until it can be. ${SET_ONE}`
          : `no default alert recipient: ADMIN_EMAIL, DEV_EMAIL_ADDRESSES and ALERT_WEBHOOK_URL are unset and the secret ${name} ${r.invalid.length ? 'holds no valid address' : 'does not exist or is empty'}: ${WHO} reach nobody. ${SET_ONE}`;
      }
    } catch (err) {
      problem = `no default alert recipient: ADMIN_EMAIL, DEV_EMAIL_ADDRESSES and ALERT_WEBHOOK_URL are unset and the secret ${this.o.secretName} could not be read (${errorMessage(err)}). ${SET_ONE}`;
    }
    const before = this.verdict;
    this.verdict = { at: this.o.now(), problem };
    if (problem && (!before || before.problem === undefined)) this.o.logger.error(problem);
    else if (!problem && before?.problem) {
      this.o.logger.info({ secretName: this.o.secretName }, 'default alert recipients found in the alert secret');
    }
  }

  async check(): Promise<void> {
    if (this.o.configured) return;
    if (!this.verdict) {
      // the first answer, or no longer than firstAnswerMs (then: "still being read")
      let late = false;
      await withTimeout(this.refresh(), this.o.firstAnswerMs ?? 1_500, undefined, () => {
        late = true;
      }).catch((err: unknown) => {
        if (!late) throw err;
      });
    } else if (
      this.o.now() - this.verdict.at >=
      (this.verdict.problem ? (this.o.retryMs ?? 5_000) : (this.o.refreshMs ?? 60_000))
    ) {
      void this.refresh();
    }
    if (!this.verdict) {
      throw new Error(
        `no default alert recipient variable is set (ADMIN_EMAIL, DEV_EMAIL_ADDRESSES, ALERT_WEBHOOK_URL) and the secret ${this.o.secretName} is still being read`,
      );
    }
    if (this.verdict.problem) throw new Error(this.verdict.problem);
  }
}
