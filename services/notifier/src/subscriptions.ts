import { retryDelay } from '@vigil/shared';

/**
 * What the notifier listens to: one durable consumer per subject family (nats-server 2.9 allows one filter
 * subject per consumer). Replicas share the durable names, so each event is handled by one of them.
 */
export const SUBSCRIPTIONS = [
  { family: 'job-failed', subject: 'job.failed.>' },
  { family: 'job-missed', subject: 'job.missed.>' },
  { family: 'job-stuck', subject: 'job.stuck.>' },
  { family: 'job-partial', subject: 'job.partial.>' },
  { family: 'job-recovered', subject: 'job.recovered.>' },
  // only a scheduled (or catch-up) slot skipped because the previous run still held the job; a manual trigger
  // refused at the API already got its 409 (to-alert.ts)
  { family: 'job-skipped', subject: 'job.skipped.>' },
  { family: 'secrets-refresh-failed', subject: 'secrets.refresh-failed' },
  { family: 'secrets-stale-served', subject: 'secrets.stale-served' },
  // only `recovered: true` ends (and resolves) an outage the notifier alerted about; the rest is skipped
  { family: 'secrets-refreshed', subject: 'secrets.refreshed' },
  { family: 'webhook-dead', subject: 'webhook.dead' },
  { family: 'breaker-opened', subject: 'breaker.opened.>' },
  // only a close that ends an opening the notifier alerted about sends something (breaker-incident.ts)
  { family: 'breaker-closed', subject: 'breaker.closed.>' },
  { family: 'notify-send', subject: 'notify.send' },
] as const;

export const durableName = (family: string) => `notifier-${family}`;

/** nak delays while every channel fails (the last one repeats). */
export const REDELIVERY_BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000];

/**
 * Deliveries of one alert while every channel fails: enough to keep trying for as long as the alert is worth
 * sending (ALERT_MAX_AGE; older ones are only logged), so a mail outage of hours ends with the alert delivered,
 * not parked in the DLQ waiting for someone to replay it.
 */
export function maxDeliverFor(maxAgeMs: number): number {
  let elapsed = 0;
  let n = 1;
  while (elapsed < maxAgeMs) {
    elapsed += retryDelay(n, REDELIVERY_BACKOFF_MS);
    n++;
  }
  return Math.max(n, 5);
}
