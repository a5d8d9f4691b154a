import { ErrorCode, shellQuote } from '@vigil/shared';
import type { AlertError } from './alert.js';
import { providerNamedIn } from './secrets-actions.js';

// What a failed run's error says to do, by its cause (NATS, auth, rate limit, provider 5xx, DNS, timeout, network,
// secrets) and then by its class; recommended-actions.ts adds what the alert's kind says.

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

/** Codes only the NATS client uses (a `TIMEOUT` or `503` counts only on a NatsError: HTTP has them too). */
const NATS_ONLY_CODES =
  /^(CONNECTION_CLOSED|CONNECTION_DRAINING|CONNECTION_REFUSED|DISCONNECT|NO_RESPONDERS|BAD_AUTHENTICATION|AUTHORIZATION_VIOLATION)$/;

/**
 * An error of Vigil's own broker (NATS), not of the provider the job calls: a `NatsError` (TIMEOUT, 503 = no
 * responders / JetStream not answering, CONNECTION_CLOSED…), `VIGIL_E_NATS_UNAVAILABLE`, or a message saying NATS
 * is unavailable.
 */
export function isNatsError(error: AlertError): boolean {
  return (
    /^Nats/i.test(error.type) ||
    error.code === ErrorCode.NATS_UNAVAILABLE ||
    NATS_ONLY_CODES.test(error.code ?? '') ||
    /\bNATS (is )?unavailable|VIGIL_E_NATS_UNAVAILABLE/i.test(error.message)
  );
}

/**
 * A `command` job's command ran and exited non-zero (VIGIL_E_COMMAND_FAILED, transient). Not one that could not
 * start: that one is class `validation` and gets the invalid-input advice (fix the command in the job).
 */
function isCommandExit(error: AlertError): boolean {
  return error.code === ErrorCode.COMMAND_FAILED && error.class !== 'validation';
}

const COMMAND_EXIT_ADVICE =
  "The job's command itself failed: its exit code and the last lines of its stderr and stdout are in the error above. Fix the command or what it depends on (its input, a service it calls, its environment), then re-run with the command below.";

/** What the run's context says about retries: `attempt` of the run, and whether its targets failed one by one. */
export interface RunContext {
  attempt?: number;
  /** Every target failed inside the handler (per-target outcomes): not retried at run level. */
  targetsFailed?: { failed: number; targets: number; names: string[] };
}

export function errorActions(error: AlertError, scope: string, run: RunContext = {}): string[] {
  const text = `${error.type} ${error.code ?? ''} ${error.message}`;
  const status = httpStatusIn(error);
  const out: string[] = [];
  // First: what failed is the job's own command. Hints its output may give (a 401, a timeout) follow.
  if (isCommandExit(error)) out.push(COMMAND_EXIT_ADVICE);
  if (isNatsError(error)) {
    const code = error.code && error.code !== error.type ? ` (${error.code})` : '';
    out.push(
      `NATS, Vigil's own message broker, did not answer${code}: this is not the provider the job calls. Check NATS: \`vigil health\` (each service reports its NATS connection and JetStream), the nats server itself (its logs, \`GET :8222/healthz\` on its monitoring port, JetStream disk space); re-run once it answers.`,
    );
  } else if (
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
  if (/SECRET_NOT_FOUND|secret .*(not found|does not exist)/i.test(text)) {
    out.push(
      `A secret the job needs does not exist: create it ${SECRET_HOME[providerNamedIn(text)]}, or fix the name the job uses (\`vigil secrets status\`).`,
    );
  } else if (/SECRET|secrets/i.test(error.code ?? '') || /SecretsManager|secrets provider/i.test(text)) {
    out.push(
      `The secrets provider failed: \`vigil secrets status\` shows each secret's last error; ${PROVIDER_CHECK[providerNamedIn(text)]}.`,
    );
  }
  switch (error.class) {
    case 'validation':
      out.push(
        error.code === ErrorCode.HANDLER_RESULT_INVALID
          ? `The job's handler returned something that is not a run outcome (${error.message}): fix the handler's return value (its \`handler:\` module in jobs.yaml); retrying will not help.`
          : `Invalid input (${error.message || error.type}): fix that input in the job configuration or data source; retrying will not help.`,
      );
      break;
    case 'permanent':
      out.push('This error will repeat on retry: fix its cause before re-running.');
      break;
    case 'transient':
      if (out.length === 0) out.push(transientAdvice(run));
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

/**
 * A transient failure: "outlasted the retries" only when retries happened (attempt > 1). On the first attempt, either
 * every target failed inside the handler (per-target failures are not retried at run level: a backup run, or a re-run
 * of those targets, covers them) or the run was not retried at all.
 */
function transientAdvice(run: RunContext): string {
  if (run.attempt === undefined || run.attempt > 1)
    return 'A temporary failure outlasted the retries: re-run once the dependency is healthy.';
  const t = run.targetsFailed;
  if (t) {
    const which = t.failed === t.targets ? `All ${t.targets} targets` : `${t.failed} of ${t.targets} targets`;
    const some = t.names
      .slice(0, 2)
      .map((n) => `--target ${shellQuote(n)}`)
      .join(' ');
    return `${which} failed inside the handler on the first attempt; per-target failures are not retried at run level, so no retry happened. If the job has a \`backup\` window, its backup run re-runs only the failed targets by itself; otherwise re-run once the dependency is healthy with the command below (add ${some || '--target <name>'} to re-run only some).`;
  }
  return 'A temporary failure on the first attempt, and the run was not retried (the job has no retries, or the error ended them): re-run once the dependency is healthy.';
}

/** Where a secret lives, by the provider a job's error names (the job's event does not carry the provider). */
const SECRET_HOME = {
  aws: 'in AWS Secrets Manager',
  file: 'in the secrets file (SECRETS_FILE of the secrets service)',
  env: 'as a VIGIL_SECRET_<NAME> variable of the secrets service',
  unknown: 'at the secrets provider',
} as const;

const PROVIDER_CHECK = {
  aws: 'check AWS status (https://health.aws.amazon.com) and the credentials of the secrets service',
  file: 'check the secrets file (SECRETS_FILE of the secrets service): that it exists, is readable and valid',
  env: 'check the VIGIL_SECRET_* variables of the secrets service',
  unknown: 'check the provider the secrets service reads (its SECRETS_PROVIDER) and its access to it',
} as const;
