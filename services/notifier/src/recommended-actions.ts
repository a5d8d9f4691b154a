import type { Alert, AlertError } from './alert.js';

const NETWORK =
  /ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|UND_ERR|socket hang up|ConnectionError|ConnectTimeout|network/i;
const TIMEOUT = /timeout|timed out|TimeoutError|AbortError/i;
const DNS = /ENOTFOUND|EAI_AGAIN|getaddrinfo/i;

/** The HTTP status an error's text names, e.g. "HTTP 503", "status 401", "returned 500". */
export function httpStatusIn(error: AlertError): number | undefined {
  const text = `${error.type} ${error.code ?? ''} ${error.message}`;
  const m = /\b(?:HTTP|status(?: code)?|returned|responded(?: with)?|got)\s*:?\s*([1-5]\d\d)\b/i.exec(text);
  return m ? Number(m[1]) : undefined;
}

function errorActions(error: AlertError, scope: string): string[] {
  const text = `${error.type} ${error.code ?? ''} ${error.message}`;
  const status = httpStatusIn(error);
  const out: string[] = [];
  if (
    status === 401 ||
    status === 403 ||
    /unauthori[sz]ed|forbidden|invalid (api )?key|AccessDenied|credential/i.test(text)
  ) {
    out.push(
      `Authentication was refused (${status ?? 'auth error'}): rotate or re-issue the credentials the job uses and update the secret, then re-run.`,
    );
  } else if (status === 429) {
    out.push(
      'The provider is rate-limiting (429): lower the job concurrency or wait for the quota window, then re-run.',
    );
  } else if (status !== undefined && status >= 500) {
    out.push(
      `The provider answered ${status}: this is an outage on their side. Check the provider's status page; re-run once it has recovered.`,
    );
  } else if (status === 404) {
    out.push('The resource was not found (404): check the URL / id in the job configuration.');
  } else if (DNS.test(text)) {
    out.push('DNS lookup failed: check the host name in the job configuration and the resolver of the runners.');
  } else if (TIMEOUT.test(text)) {
    out.push(
      "The call timed out: check the provider's status page and the network path from the runners; consider a longer timeout.",
    );
  } else if (NETWORK.test(text)) {
    out.push(
      "Network error reaching a dependency: check the provider's status page and connectivity (firewall, VPN, DNS) from the runners.",
    );
  }
  if (/SECRET_NOT_FOUND|secret .*not found/i.test(text)) {
    out.push('A secret the job needs does not exist: create it in the secrets provider (`vigil secrets status`).');
  } else if (/SECRET|secrets/i.test(error.code ?? '') || /SecretsManager|secrets provider/i.test(text)) {
    out.push(
      'The secrets provider failed: check AWS status (https://health.aws.amazon.com) and `vigil secrets status`.',
    );
  }
  switch (error.class) {
    case 'validation':
      out.push(
        `Invalid input (${error.message || error.type}): fix that input in the job configuration or data source; retrying will not help.`,
      );
      break;
    case 'permanent':
      out.push('This error will repeat on retry: fix its cause before re-running.');
      break;
    case 'transient':
      if (out.length === 0)
        out.push('A temporary failure outlasted the retries: re-run once the dependency is healthy.');
      break;
    case 'unexpected':
      if (out.length === 0)
        out.push(`Unexpected ${error.type} in ${scope}: read the stack trace below — likely a bug in the handler.`);
      break;
    default:
      if (out.length === 0) out.push('Read the error and stack trace below to find the failing step.');
  }
  return out;
}

/** What a human should do first, chosen by the kind of alert and the class and type of its error. */
export function recommendedActions(alert: Alert): string[] {
  const scope = alert.job ?? alert.scope;
  switch (alert.kind) {
    case 'recovered':
      return ['Nothing to do: the job succeeded again. Check that the data of the failed runs is complete.'];
    case 'missed':
      return [
        'No runner started the job before its start deadline: check that the runners are up (`vigil health`, `GET /api/system/health`).',
        'Check NATS connectivity of the runners and whether another run held the job (concurrency: forbid).',
      ];
    case 'stuck':
      return [
        `The handler of ${scope} is running past its timeout: inspect the handler (logs of the run, hung external calls).`,
        'If the work is legitimately long, raise `timeout` in the jobs file.',
      ];
    case 'secrets-refresh-failed':
      return [
        'The secrets provider is failing: check AWS status (https://health.aws.amazon.com) and the service credentials.',
        alert.uncachedSecrets
          ? 'Jobs that need a secret with no cached value fail until the provider answers (`vigil secrets status` shows NOT LOADED); set SECRETS_CACHE_KEY so a restart keeps last-known-good copies.'
          : 'Jobs keep running on the cached values while they last: `vigil secrets status` shows their age.',
        ...(alert.error ? errorActions(alert.error, scope).filter((a) => !/secrets provider failed/.test(a)) : []),
      ];
    case 'secrets-stale-served':
      return [
        'A stale cached secret was served because the provider is unavailable: check AWS status (https://health.aws.amazon.com).',
        'If the secret was rotated recently, jobs may fail with auth errors until the provider recovers.',
      ];
    case 'webhook-dead':
      return [
        'Every delivery attempt failed: check that the endpoint is up and accepts our signature.',
        'Replay it once fixed: `vigil dlq list` then `vigil dlq replay <seq>` (or `POST /api/dlq/:seq/replay`).',
        ...(alert.error ? errorActions(alert.error, scope) : []),
      ];
    case 'breaker-opened':
      return [
        `Calls to a dependency of ${scope} are failing repeatedly; they are short-circuited until the breaker half-opens.`,
        "Check the dependency's status page and connectivity; the breaker closes by itself after a successful probe.",
      ];
    case 'message':
      return alert.sample ? ['This is a test: if you can read it, email alerts reach you. Nothing to do.'] : [];
    default: {
      const actions = alert.error ? errorActions(alert.error, scope) : [];
      // Per-target errors say more than the run's summary: advise on each kind of failure (bounded).
      const byAction = new Map<string, string[]>();
      for (const f of alert.failures ?? []) {
        const [type, ...rest] = f.error.split(': ');
        const err: AlertError = rest.length ? { type, message: rest.join(': ') } : { type: 'Error', message: f.error };
        for (const a of errorActions(err, scope).filter((x) => !x.startsWith('Read the error'))) {
          byAction.set(a, [...(byAction.get(a) ?? []), f.target]);
        }
      }
      for (const [a, targets] of [...byAction].slice(0, 3)) {
        const names =
          targets.length > 3 ? `${targets.slice(0, 3).join(', ')} and ${targets.length - 3} more` : targets.join(', ');
        const line = `${names}: ${a}`;
        if (!actions.includes(a)) actions.push(line);
      }
      if (alert.kind === 'partial' && alert.failures?.length) {
        actions.push(`Re-run only the ${alert.failures.length} failed target(s) with the command below.`);
      }
      if (actions.length === 0) actions.push('Read the run details below and the job logs.');
      return actions;
    }
  }
}
