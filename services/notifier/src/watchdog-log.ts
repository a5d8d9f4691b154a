import type { Logger } from '@vigil/shared';
import { roughDuration } from './watchdog-alerts.js';
import type { RoundStep, WatchRecord } from './watchdog-state.js';

/** The log lines of what one round changed for a service (watchdog.ts). */
export function logRound(
  log: Logger,
  downAfterMs: number,
  service: string,
  step: RoundStep,
  rec: WatchRecord | undefined,
  n: number,
): void {
  switch (step.change) {
    case 'first-seen':
      log.info(
        { service, instances: n },
        `watchdog: ${service} answers; from now on it is alerted about when no instance answers for ${roughDuration(downAfterMs)}`,
      );
      break;
    case 'silent':
      log.warn({ service }, `watchdog: no instance of ${service} answered`);
      break;
    case 'answers-again':
      log.info({ service, instances: n }, `watchdog: ${service} answers again`);
      break;
    case 'down':
      log.error({ service, since: rec?.down?.since }, `watchdog: ${service} is down`);
      break;
    case 'back':
      log.info({ service, instances: n, since: rec?.up?.since }, `watchdog: ${service} is back`);
      break;
  }
  const ep = rec?.notReady;
  switch (step.readiness) {
    case 'not-ready':
      log.warn({ service, instances: n, reason: ep?.reason }, `watchdog: no instance of ${service} is ready`);
      break;
    case 'not-ready-alert':
      log.error({ service, since: ep?.since, reason: ep?.reason }, `watchdog: ${service} is not ready`);
      break;
    case 'ready':
      log.info({ service, instances: n }, `watchdog: ${service} is ready again`);
      break;
    case 'ready-again':
      log.info({ service, since: rec?.readyAgain?.since }, `watchdog: ${service} is ready again (was alerted)`);
      break;
    case 'not-ready-ended-by-down':
      log.info({ service }, `watchdog: ${service} was not ready and is now down: the down alert covers both`);
      break;
  }
  for (const g of step.goneNow ?? []) {
    const lived =
      g.started !== undefined
        ? `running for ${roughDuration(g.last - g.started)} (from its start to its last answer)`
        : `answering for ${roughDuration(g.last - g.first)} (it did not say when it started)`;
    log.warn(
      {
        service,
        instance: g.id,
        firstSeen: g.first,
        lastSeen: g.last,
        ...(g.started !== undefined ? { startedAt: g.started } : {}),
      },
      `watchdog: instance ${g.id} of ${service} went away after ${lived}`,
    );
  }
  if (step.restarts === 'restarting') {
    log.error({ service, count: rec?.restarting?.count }, `watchdog: ${service} keeps restarting`);
  } else if (step.restarts === 'stable') {
    log.info({ service, count: rec?.stable?.count }, `watchdog: ${service} is stable again`);
  }
}
