/** Subject builders, so no service spells a subject by hand. */
export const Subjects = {
  jobTrigger: (job: string) => `job.trigger.${job}`,
  jobCancel: (job: string) => `job.cancel.${job}`,
  jobRequested: (job: string) => `job.requested.${job}`,
  jobStarted: (job: string) => `job.started.${job}`,
  jobSucceeded: (job: string) => `job.succeeded.${job}`,
  jobFailed: (job: string) => `job.failed.${job}`,
  jobPartial: (job: string) => `job.partial.${job}`,
  jobMissed: (job: string) => `job.missed.${job}`,
  jobStuck: (job: string) => `job.stuck.${job}`,
  jobRecovered: (job: string) => `job.recovered.${job}`,
  /** `job.<verb>.<job>` for a run event verb (requested, started, succeeded, ...). */
  jobEvent: (verb: string, job: string) => `job.${verb}.${job}`,
  secretsRefreshed: 'secrets.refreshed',
  secretsRefreshFailed: 'secrets.refresh-failed',
  secretsStaleServed: 'secrets.stale-served',
  webhookSend: 'webhook.send',
  webhookDelivered: 'webhook.delivered',
  webhookAttemptFailed: 'webhook.attempt-failed',
  webhookDead: 'webhook.dead',
  notifySend: 'notify.send',
  notificationSent: 'notification.sent',
  notificationFailed: 'notification.failed',
  /** state: 'opened' | 'half-open' | 'closed' (event verbs, not breaker states). */
  breaker: (verb: 'opened' | 'half-open' | 'closed', service: string, name: string) =>
    `breaker.${verb}.${service}.${name}`,
  service: (verb: string) => `service.${verb}`,
  dlq: (originalSubject: string) => `dlq.${originalSubject}`,
} as const;

/** Valid job name / subject token: no dots, wildcards or whitespace. */
export function isSubjectToken(token: string): boolean {
  return token.length > 0 && !/[.*>\s]/.test(token);
}
