import type { AlertKind } from './alert.js';
import { STABLE_AFTER_MS } from './watchdog-restarts.js';

/**
 * Recommended actions of the watchdog's alerts about a Vigil service (watchdog*.ts): down / back, not ready / ready
 * again, restarting / stable. What each service's outage stops, and where it runs by default, is known here once.
 */

/** What a Vigil service being down stops, and what happens when it is back (watchdog alerts). */
interface ServiceNotes {
  /** Its containers in deploy/docker-compose.yml. */
  compose: string;
  /** Its default HTTP port. */
  port: number;
  whileDown: string;
  /** What happens once it answers again (after "When it is back, " or "Now that it is back, "). */
  whenBack: string;
}

const SERVICE_NOTES: Record<string, ServiceNotes> = {
  scheduler: {
    port: 8080,
    compose: 'scheduler-1 scheduler-2',
    whileDown:
      'While it is down, scheduled jobs are not being requested: nothing runs on schedule, and no `job.missed` or `job.stuck` alert is raised (the scheduler raises them). `vigil trigger` is refused meanwhile; `vigil trigger --queue` (or any `job.trigger.<job>` publisher) waits in the stream and runs when it is back; its HTTP API (`/api/…`) does not answer.',
    whenBack:
      'catch-up runs missed slots: each job with a `catchUp` window runs its newest missed slot once; the other missed slots are reported as `job.missed` (re-run what is still needed).',
  },
  reports: {
    port: 8081,
    compose: 'reports-1 reports-2',
    whileDown:
      'While no runner is up, no job runs: requested runs wait in the work queue, the scheduler reports each one not started within its `startDeadline` as `job.missed`, and runs that were running are taken over by the next runner after `RUNNER_ACK_WAIT`.',
    whenBack:
      'the queued runs start by themselves (a missed one then sends its ✅ RESOLVED): give them a chance before re-running anything.',
  },
  secrets: {
    port: 8083,
    compose: 'secrets',
    whileDown:
      'While it is down, `secrets.get` is not answered: jobs and the webhooks service use only the values their processes already hold, a job that needs a secret it has not fetched before fails, and no secrets refresh or `secrets.*` alert happens. Alert recipients kept in a secret the notifier has not read yet fall back to `ADMIN_EMAIL` / `DEV_EMAIL_ADDRESSES`.',
    whenBack: 'jobs get their secrets again: re-run the runs that failed meanwhile with secret errors.',
  },
  webhooks: {
    port: 8084,
    compose: 'webhooks',
    whileDown:
      'While it is down, outbound webhooks (`webhook.send`) wait in the `VIGIL_WEBHOOKS` stream and nothing is delivered; the Slack-compatible copy or fallback of alerts (`ALERT_WEBHOOK_URL`) goes through it too, so alerts reach only email meanwhile. Its HTTP API does not answer.',
    whenBack:
      'the queued webhooks are delivered; those older than `WEBHOOKS_MAX_AGE` by then are dead (`vigil dlq list`, `vigil dlq replay <seq>`).',
  },
};

function downActions(service: string): string[] {
  const notes = SERVICE_NOTES[service];
  const compose = notes?.compose ?? service;
  return [
    `Check the ${service} containers or pods and restart them: \`docker compose ps -a ${compose}\`, or \`kubectl get pods -l app.kubernetes.io/name=vigil-${service}\`.`,
    `Read the logs of the instances that stopped: \`docker compose logs --tail 200 ${compose}\`, or \`kubectl logs deploy/vigil-${service} --previous\`, or with \`npm start\` ${devLog(service)} (exit code 78: a missing or malformed variable; also look for out-of-memory kills and NATS connection errors).`,
    service === 'scheduler'
      ? '`vigil health` needs a scheduler to answer: ask the services directly with `nats req vigil.health.scheduler ""` (or `nats micro ls`).'
      : '`vigil health` (or `GET /api/system/health` on the scheduler) shows which services answer and why one is not ready.',
    ...(notes ? [notes.whileDown, `When it is back, ${notes.whenBack}`] : []),
    `A ✅ RESOLVED email follows when an instance answers again. If ${service} was removed on purpose, stop watching it: \`nats kv del vigil_notified watchdog_${service}\`.`,
  ];
}

function recoveredActions(service: string): string[] {
  const notes = SERVICE_NOTES[service];
  const compose = notes?.compose ?? service;
  return [
    `Nothing to do for ${service} itself. Find out why it stopped: the logs of the instances that went away (\`docker compose logs ${compose}\`, \`kubectl logs deploy/vigil-${service} --previous\`).`,
    ...(notes ? [`Now that it is back, ${notes.whenBack}`] : []),
  ];
}

/**
 * The dev stack's log of a service and what its terminal says when the process exits. The notifier cannot know the
 * stack's state directory (a developer's VIGIL_STATE_DIR), so it names the default and says what moves it.
 */
const devLog = (service: string) =>
  `\`.vigil/logs/${service}.log\` (\`$VIGIL_STATE_DIR/logs/\` when that is set; the terminal says \`[vigil] ${service} exited (…)\`)`;

/** Where a service runs by default (deploy/docker-compose.yml containers, HTTP port), for alert texts. */
export function deployedAs(service: string): { compose: string; port?: number } {
  const notes = SERVICE_NOTES[service];
  return notes ? { compose: notes.compose, port: notes.port } : { compose: service };
}

/** What to look at for a failing readiness check, by its name (the dependency it names). */
function checkAction(check: string, service: string): string {
  switch (check) {
    case 'nats':
      return `The \`nats\` check fails: the instances' connection to NATS (or JetStream) is unwell. Check the NATS servers (\`nats server check connection\`, \`docker compose ps nats\`) and the network path from the ${service} instances to them.`;
    case 'redis':
      return `The \`redis\` check fails: Redis does not answer the ${service} instances. Check that Redis is up (\`docker compose ps redis\`, \`redis-cli ping\`) and reachable from them (the host in REDIS_URL, firewall, password).`;
    case 'runner-consumer':
      return "The `runner-consumer` check fails: the runner's JetStream consumer is being re-created. Check JetStream on the NATS servers (`nats stream ls`, `nats consumer ls <stream>`); the runner's log says why it is re-created.";
    default:
      return `The \`${check}\` check fails: check the dependency it names (its error is above): is it up, and reachable from the ${service} instances (DNS, firewall, credentials)?`;
  }
}

/** `items`: the failing checks' names, and `start-up` when instances have not finished starting. */
function notReadyActions(service: string, items: string[]): string[] {
  const { compose, port } = deployedAs(service);
  return [
    `See what each instance says: \`GET /health/ready\` on an instance of ${service}${port ? ` (port ${port} by default)` : ''} names every failing check with its error; \`vigil health\` shows it for every service${service === 'scheduler' ? ' (it needs a ready scheduler: else `nats req vigil.health.scheduler ""`)' : ''}.`,
    ...items.filter((i) => i !== 'start-up').map((c) => checkAction(c, service)),
    ...(items.includes('start-up')
      ? [
          'Start-up has not finished: the last start-up phase in the log of an instance (`config ok`, `streams ready`, `nats service … registered`, …) is the step it waits for.',
        ]
      : []),
    `Read the logs of the instances: \`docker compose logs --tail 200 ${compose}\`, or \`kubectl logs -l app.kubernetes.io/name=vigil-${service} --tail 200\`, or with \`npm start\` ${devLog(service)} (look for the dependency named above: connection refused, timeouts, authentication errors).`,
    'Restarting the instances helps only once the dependency is back and they did not reconnect by themselves; in Kubernetes, pods that are not ready get no traffic and stall a rollout.',
    `A ✅ RESOLVED email follows when an instance is ready again. If the instances then stop answering altogether, that is part of this incident: no separate "${service} is down" alert is sent. If ${service} was removed on purpose, stop watching it: \`nats kv del vigil_notified watchdog_${service}\`.`,
  ];
}

function readyAgainActions(service: string): string[] {
  const { compose } = deployedAs(service);
  return [
    `Find out why it was not ready (the reason above): the dependency's own logs and those of ${service} from then (\`docker compose logs ${compose}\`, \`kubectl logs -l app.kubernetes.io/name=vigil-${service}\`).`,
    'Check whether work that failed or waited meanwhile needs a re-run: `vigil runs --status failed` (or `GET /api/runs?status=failed`).',
  ];
}

function restartingActions(service: string): string[] {
  const { compose } = deployedAs(service);
  return [
    `Read why they exit: \`docker compose logs --tail 200 ${compose}\` and \`docker compose ps -a ${compose}\` (exit code, restart count), or \`kubectl logs deploy/vigil-${service} --previous\` and \`kubectl get pods -l app.kubernetes.io/name=vigil-${service}\` (RESTARTS; \`kubectl describe pod\` shows the last state and exit code), or with \`npm start\` ${devLog(service)}.`,
    'Exit code 78: a missing or malformed variable (the log names it); 137: killed, often out of memory (`OOMKilled` in `kubectl describe pod`, `docker inspect` State.OOMKilled); 1: a fatal error (the last log line has its stack); 0: something stops it on purpose (a deploy loop, a liveness probe, an operator).',
    'The last start-up phase printed by an instance that exited is the step that failed (`config ok`, `streams ready`, `nats service … registered`, `ready`).',
    `A ✅ RESOLVED email follows once no instance has gone away young for ${STABLE_AFTER_MS / 60_000} min while an instance keeps answering.`,
  ];
}

function stableActions(service: string): string[] {
  const { compose } = deployedAs(service);
  return [
    `Find out why it restarted, if not known yet: the logs of the instances that exited (\`docker compose logs ${compose}\`, \`kubectl logs deploy/vigil-${service} --previous\`).`,
  ];
}

/** The actions of a watchdog alert about `service`; `items`: what the alert names (a not-ready alert's checks). */
export function serviceActions(kind: AlertKind, service: string, items: string[]): string[] {
  switch (kind) {
    case 'service-down':
      return downActions(service);
    case 'service-recovered':
      return recoveredActions(service);
    case 'service-not-ready':
      return notReadyActions(service, items);
    case 'service-ready':
      return readyAgainActions(service);
    case 'service-restarting':
      return restartingActions(service);
    case 'service-stable':
      return stableActions(service);
    default:
      return [];
  }
}
