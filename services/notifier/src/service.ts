import {
  packageVersion,
  type Clock,
  createSecretsClient,
  runService,
  type ServiceHandle,
  vigilMetrics,
} from '@vigil/shared';
import { consumeAlerts } from './alert-consumers.js';
import { type NotifierConfig, notifierEnvSchema } from './config.js';
import { BreakerNotices } from './breaker-notices.js';
import { DedupeStore } from './dedupe-store.js';
import { DigestRecorder } from './digest-recorder.js';
import { Dispatcher } from './dispatcher.js';
import { DIGEST_MAX_WAIT_MS, DIGEST_QUIET_MS } from './expired-digest.js';
import { FallbackTracker } from './fallback-tracker.js';
import { FollowUps } from './follow-ups.js';
import { GroupStore } from './group-store.js';
import { FallbackHealth } from './lost-fallback.js';
import { Notifier } from './notifier.js';
import { RecipientLookup } from './recipient-lookup.js';
import { DefaultRecipientsCheck } from './recipients-check.js';
import { Redrive } from './redrive.js';
import { createSmtpChannel } from './smtp-channel.js';
import { smtpCheck } from './smtp-check.js';
import { SUBSCRIPTIONS } from './subscriptions.js';
import { Watchdog, type WatchdogRound, watchdogInterval } from './watchdog.js';
import { WebhookFates } from './webhook-fates.js';
import { followWebhookOutcomes } from './webhook-outcomes.js';

export const DEDUPE_BUCKET = 'vigil_notified';
export const GROUPS_BUCKET = 'vigil_alert_groups';
const DAY = 86_400_000;
export const NOTIFIER_VERSION = packageVersion(import.meta.url);

export interface StartNotifierOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  handleSignals?: boolean;
  /**
   * The service watchdog's timing (tests): the round interval (default a quarter of WATCHDOG_DOWN_AFTER, at most
   * 30 s), how long a round waits for health answers (2 s), and a callback after each round.
   */
  watchdog?: { intervalMs?: number; probeTimeoutMs?: number; onRound?: (round: WatchdogRound) => void };
  /**
   * The digest of alerts older than ALERT_MAX_AGE (tests): it goes out `quietMs` (10 s) after the last one was
   * folded, `maxWaitMs` (5 min) after the first at the latest.
   */
  digest?: { quietMs?: number; maxWaitMs?: number };
}

/** Starts the notifier: consumers for every alerting subject, email with a webhook fallback, grouping in KV. */
export function startNotifierService(opts: StartNotifierOptions = {}): Promise<ServiceHandle<NotifierConfig>> {
  return runService({
    name: 'notifier',
    version: NOTIFIER_VERSION,
    configSchema: notifierEnvSchema,
    env: opts.env,
    defaultPort: 8082,
    clock: opts.clock,
    handleSignals: opts.handleSignals ?? true,
    start: async (rt) => {
      const cfg = rt.config;
      const metrics = vigilMetrics(rt.registry);
      const now = () => rt.clock.now();

      const dedupeKv = await rt.bus.openKv(DEDUPE_BUCKET, { ttlMs: 7 * DAY });
      const dedupe = new DedupeStore(dedupeKv, now);
      const grouping = cfg.ALERT_GROUP_INTERVAL > 0;
      const expiring = cfg.ALERT_MAX_AGE > 0;
      // The bucket holds the groups and the digest of expired alerts (that one also while grouping is off).
      const groupStore =
        grouping || expiring
          ? new GroupStore(await rt.bus.openKv(GROUPS_BUCKET, { ttlMs: Math.max(DAY, 3 * cfg.ALERT_GROUP_INTERVAL) }))
          : undefined;
      const groups = grouping ? groupStore : undefined;
      rt.phase(`kv ready (grouping ${grouping ? `every ${cfg.ALERT_GROUP_INTERVAL} ms` : 'off'})`);

      const smtp = createSmtpChannel({
        url: cfg.SMTP_URL,
        from: cfg.ALERT_FROM,
        timeoutMs: cfg.SMTP_TIMEOUT,
        breakerResetMs: cfg.SMTP_BREAKER_RESET,
        logger: rt.log,
        registry: rt.registry,
        bus: rt.bus,
        signal: rt.signal,
      });
      rt.onShutdown(() => smtp.close());

      const recipients = new RecipientLookup({
        jobsFile: cfg.VIGIL_JOBS_FILE ?? './jobs.yaml',
        jobsFileExplicit: cfg.VIGIL_JOBS_FILE !== undefined,
        secrets: createSecretsClient(rt.nc, { logger: rt.log }),
        defaultSecret: cfg.ALERT_RECIPIENTS_SECRET,
        admin: cfg.ADMIN_EMAIL,
        dev: cfg.DEV_EMAIL_ADDRESSES,
        logger: rt.log,
        now,
      });
      // this replica's Slack messages until delivered: `sent` on delivery, emailed when SMTP is back first
      const fallbacks = new FallbackTracker({ metrics, now, logger: rt.log });
      const dispatcher = new Dispatcher({
        fallbacks,
        bus: rt.bus,
        smtp,
        recipients,
        fallbackLog: dedupe,
        adminEmail: cfg.ADMIN_EMAIL,
        webhookUrl: cfg.ALERT_WEBHOOK_URL,
        webhookMode: cfg.ALERT_WEBHOOK_MODE,
        publicUrl: cfg.VIGIL_PUBLIC_URL,
        cli: cfg.ALERT_CLI,
        metrics,
        logger: rt.log,
        now,
      });
      // circuit breakers: the ✅ RESOLVED notice of a close, after an opened alert (or its follow-up) went out
      const breakers = new BreakerNotices({ dedupe, dispatcher, groups, now });
      // given-up webhooks delivered after all (replayed): a follow-up marks them delivered (webhook-fates.ts)
      const webhookFates = new WebhookFates();
      const followUps = groupStore
        ? new FollowUps({
            store: groupStore,
            dispatcher,
            clock: rt.clock,
            intervalMs: cfg.ALERT_GROUP_INTERVAL,
            // grouping off: the sweep only looks for a digest whose replica stopped
            sweepMs: grouping ? cfg.ALERT_GROUP_INTERVAL : 60_000,
            maxAgeMs: cfg.ALERT_MAX_AGE,
            logger: rt.log,
            metrics,
            onSent: (alert, id, channel) => breakers.alerted(alert, id, channel, rt.log),
            resolvedAt: (scope) => dedupe.resolvedAt(scope),
            webhookDeliveredAt: (id) => webhookFates.deliveredAt(id),
          })
        : undefined;
      const digest =
        groupStore && expiring
          ? new DigestRecorder({
              store: groupStore,
              timing: {
                quietMs: opts.digest?.quietMs ?? DIGEST_QUIET_MS,
                maxWaitMs: opts.digest?.maxWaitMs ?? DIGEST_MAX_WAIT_MS,
              },
              now,
            })
          : undefined;
      const fallbackHealth = new FallbackHealth(now);
      const notifier = new Notifier({
        dedupe,
        groups,
        followUps,
        digest,
        dispatcher,
        clock: rt.clock,
        intervalMs: cfg.ALERT_GROUP_INTERVAL,
        maxAgeMs: cfg.ALERT_MAX_AGE,
        metrics,
        fallbackHealth,
        breakers,
      });

      const redrive = new Redrive({
        handle: (subject, event, log, deliveries) => notifier.handle(subject, event, log, deliveries),
        logger: rt.log,
      });
      smtp.onRecovered(() => {
        redrive
          .flush()
          .catch((err: unknown) => rt.log.warn({ err }, 'could not send the alerts waiting for SMTP'))
          // then the alerts handed to the webhook fallback that it has not delivered (e.g. it answers HTTP 500)
          .then(() => fallbacks.emailUndelivered(dispatcher, rt.log))
          .catch((err: unknown) =>
            rt.log.warn({ err }, 'could not email the alerts the webhook fallback did not deliver'),
          );
      });
      // Runs before smtp.close (hooks run in reverse): a send it has in flight ends within the shutdown grace.
      rt.onShutdown(() => redrive.stop());

      await consumeAlerts({
        bus: rt.bus,
        notifier,
        redrive,
        maxAgeMs: cfg.ALERT_MAX_AGE,
        smtpTimeoutMs: cfg.SMTP_TIMEOUT,
        logger: rt.log,
      });
      rt.phase(`consuming ${SUBSCRIPTIONS.length} subject families`);
      if (followUps) {
        await followUps.start();
        rt.onShutdown(() => followUps.stop());
      }
      // readiness fails while SMTP fails and the Slack fallback is known to fail too
      const unfollow = followWebhookOutcomes(rt.nc, { fallbacks, fallbackHealth, webhookFates, now });
      rt.onShutdown(unfollow);
      rt.addCheck('smtp', () =>
        smtpCheck(smtp.status(), cfg.ALERT_WEBHOOK_URL !== undefined, fallbackHealth.failure()),
      );
      const defaultRecipients = new DefaultRecipientsCheck({
        configured:
          cfg.ADMIN_EMAIL !== undefined || cfg.DEV_EMAIL_ADDRESSES !== undefined || cfg.ALERT_WEBHOOK_URL !== undefined,
        secretName: cfg.ALERT_RECIPIENTS_SECRET,
        probe: () => recipients.defaultSecretRecipients(),
        now,
        logger: rt.log,
      });
      defaultRecipients.start();
      rt.addCheck('recipients', () => defaultRecipients.check());

      if (cfg.WATCHDOG_DOWN_AFTER > 0) {
        const intervalMs = opts.watchdog?.intervalMs ?? watchdogInterval(cfg.WATCHDOG_DOWN_AFTER);
        const watchdog = new Watchdog({
          nc: rt.nc,
          kv: dedupeKv,
          dedupe,
          groups,
          dispatcher,
          clock: rt.clock,
          logger: rt.log.child({ component: 'watchdog' }),
          self: rt.name,
          downAfterMs: cfg.WATCHDOG_DOWN_AFTER,
          intervalMs,
          probeTimeoutMs: opts.watchdog?.probeTimeoutMs,
          onRound: opts.watchdog?.onRound,
        });
        watchdog.start();
        // no new round once shutdown begins; the one running is awaited
        rt.signal.addEventListener('abort', () => void watchdog.stop(), { once: true });
        rt.onShutdown(() => watchdog.stop());
        rt.phase(`watchdog on (down after ${cfg.WATCHDOG_DOWN_AFTER} ms, every ${intervalMs} ms)`);
      } else {
        rt.phase('watchdog off (WATCHDOG_DOWN_AFTER=0)');
      }
    },
  });
}
