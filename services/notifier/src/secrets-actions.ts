import { ErrorCode, envVariableFor, SECRET_NOT_FOUND_TYPE } from '@vigil/shared';
import type { Alert, AlertError } from './alert.js';

/**
 * What to do about a secrets alert, worded for the provider the secrets service reads (`provider` of the event, in
 * the alert's scope `secrets:<provider>`): AWS Secrets Manager, a secrets file, VIGIL_SECRET_* variables, or, when
 * the event does not say, "the secrets provider". A secret the provider says does not exist is no outage: it gets
 * its own advice (restore it or stop asking for it), never "wait for the provider".
 */
export type SecretsProviderKind = 'aws' | 'file' | 'env' | 'unknown';

export function secretsProviderOf(alert: Pick<Alert, 'scope'>): SecretsProviderKind {
  const p = /^secrets:(.*)$/.exec(alert.scope)?.[1];
  return p === 'aws' || p === 'file' || p === 'env' ? p : 'unknown';
}

/**
 * The provider has no such secret, by what the secrets service says of it (services/secrets provider-errors.ts
 * secretNotFound): the code VIGIL_E_SECRET_NOT_FOUND, or the type it gives every provider's missing secret (shared
 * SECRET_NOT_FOUND_TYPE), all `secrets.refresh-failed` carries per secret. Never the message: a missing secrets file
 * says "does not exist" for every secret, and a refresh-failed message lists the other secrets' types too.
 */
function notFoundBy(type: string | undefined, code: string | undefined): boolean {
  return code === ErrorCode.SECRET_NOT_FOUND || type === ErrorCode.SECRET_NOT_FOUND || type === SECRET_NOT_FOUND_TYPE;
}

/** The secrets file a file-provider error names (`cannot read secrets file /etc/vigil/secrets.yaml`). */
export function secretsFileIn(texts: Array<string | undefined>): string | undefined {
  for (const t of texts) {
    const m =
      /secrets file (\S+?)[.,;:"')]*(?:\s|$)/.exec(t ?? '') ??
      /does not exist in the file provider \(([^)]+)\)/.exec(t ?? '');
    if (m) return m[1];
  }
  return undefined;
}

function texts(alert: Alert): string[] {
  const e = alert.error;
  return [...(e ? [`${e.type} ${e.code ?? ''} ${e.message}`] : []), ...(alert.failures ?? []).map((f) => f.error)];
}

/**
 * A per-secret error says the provider has no such secret, by the type and code it starts with: `Type: message` or
 * `Type (code): message` (secrets-alert.ts failedSecretsOf), or `type code message`; the message is not read.
 */
export function isSecretNotFound(text: string): boolean {
  const m = /^\s*([^\s:(]+)(?::|\s+\((VIGIL_E_[A-Z_]+)\)|\s+(VIGIL_E_[A-Z_]+)\b)?/.exec(text);
  return notFoundBy(m?.[1], m?.[2] ?? m?.[3]);
}

/** The secrets of the alert the provider says do not exist, and those that failed for another reason. */
export function secretsByOutcome(alert: Alert): { notFound: string[]; failing: string[] } {
  const failures = alert.failures ?? [];
  if (failures.length) {
    const notFound = failures.filter((f) => isSecretNotFound(f.error)).map((f) => f.target);
    return { notFound, failing: failures.filter((f) => !notFound.includes(f.target)).map((f) => f.target) };
  }
  // an event without the per-secret list (stale-served, older versions): its one error speaks for all its secrets
  const e = alert.error;
  const all = alert.items ?? [];
  return e && notFoundBy(e.type, e.code) ? { notFound: all, failing: [] } : { notFound: [], failing: all };
}

const list = (names: string[]) =>
  names.length > 6 ? `${names.slice(0, 6).join(', ')} and ${names.length - 6} more` : names.join(', ');

/** "Error class" of a secrets alert: a secret that does not exist is permanent, whatever class the event carries. */
export function secretsErrorClass(alert: Alert): string | undefined {
  const cls = alert.error?.class;
  const { notFound, failing } = secretsByOutcome(alert);
  if (notFound.length === 0) return cls;
  const gone = `no longer exist${notFound.length === 1 ? 's' : ''} at the provider`;
  if (failing.length === 0) return `permanent (${list(notFound)} ${gone})`;
  return `transient for ${list(failing)} (provider errors); permanent for ${list(notFound)} (${gone})`;
}

function fileWhere(file: string | undefined): string {
  return file ? `${file} (SECRETS_FILE)` : '(SECRETS_FILE of the secrets service)';
}

/** The provider itself fails (not a missing secret): where to look. */
function providerFailing(provider: SecretsProviderKind, error: AlertError | undefined, file?: string): string {
  const type = `${error?.type ?? ''} ${error?.code ?? ''} ${error?.message ?? ''}`;
  switch (provider) {
    case 'aws':
      return 'The secrets provider (AWS Secrets Manager) is failing: check AWS status (https://health.aws.amazon.com) and the credentials and AWS_REGION of the secrets service.';
    case 'file': {
      const where = fileWhere(file);
      if (/ENOENT/.test(type))
        return `The secrets file ${where} does not exist (ENOENT): restore it, or point SECRETS_FILE of the secrets service at the right path (in a container: check the volume mount).`;
      if (/EACCES|EPERM/.test(type))
        return `The secrets service may not read the secrets file ${where}: fix its permissions (the service's user must be able to read it).`;
      if (/InvalidSecretsFile|not valid JSON|must map names/.test(type))
        return `The secrets file ${where} is not valid JSON or YAML mapping names to values: fix it (the secrets service re-reads it as soon as it changes).`;
      return `The secrets service cannot read the secrets file ${where}: check that it exists, that the service may read it, and that it is valid JSON or YAML.`;
    }
    case 'env':
      return 'The secrets come from VIGIL_SECRET_* variables of the secrets service (env provider): check them there (`vigil secrets status` shows each secret and its last error).';
    default:
      return "The secrets provider is failing: check the provider the secrets service reads (its SECRETS_PROVIDER) and the service's access to it; `vigil secrets status` shows each secret's last error.";
  }
}

/** Provider errors beyond "it fails": refused credentials, throttling, no network path. */
interface ProviderErrorDetail {
  /** Refused credentials do not pass by themselves: that advice leads and replaces the "outage" wording. */
  refused: boolean;
  advice: string;
}

function providerErrorDetail(provider: SecretsProviderKind, error: AlertError): ProviderErrorDetail | undefined {
  const text = `${error.type} ${error.code ?? ''} ${error.message}`;
  if (
    /AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|credential|unauthori[sz]ed|forbidden/i.test(text)
  ) {
    return {
      refused: true,
      advice:
        provider === 'aws'
          ? 'The provider refused the secrets service: check its AWS credentials (role or keys, expiry) and that it may call secretsmanager:GetSecretValue on these secrets.'
          : 'The provider refused the secrets service: check the credentials and permissions it uses.',
    };
  }
  if (/Throttling|TooManyRequests|\brate\b/i.test(text)) {
    return {
      refused: false,
      advice: 'The provider is throttling the secrets service: it keeps serving cached values and asks again later.',
    };
  }
  if (
    provider !== 'file' &&
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|timeout|timed out|network/i.test(
      text,
    )
  ) {
    return {
      refused: false,
      advice:
        provider === 'aws'
          ? 'The secrets service cannot reach the provider: check DNS, the network path (VPC endpoint, proxy, firewall) and AWS_ENDPOINT_URL_SECRETS_MANAGER if set.'
          : 'The secrets service cannot reach the provider: check DNS and the network path from it.',
    };
  }
  return undefined;
}

/** Where a secret that does not exist was looked for, and how to bring it back. */
function restoreWhere(provider: SecretsProviderKind, names: string[], file?: string): string {
  switch (provider) {
    case 'aws':
      return 'in AWS Secrets Manager (deleted, renamed, or another AWS_REGION): restore it there';
    case 'file':
      return `in the secrets file ${fileWhere(file)}: put its key back in the file`;
    case 'env':
      return `(${names.map(envVariableFor).join(', ')} not set on the secrets service): set the variable and restart the secrets service`;
    default:
      return 'at the secrets provider: restore it there';
  }
}

function notFoundActions(names: string[], provider: SecretsProviderKind, file?: string): string[] {
  const one = names.length === 1;
  const it = one ? 'it' : 'them';
  const refs = names.map((n) => `\`\${secret:${n}}\``).join(', ');
  return [
    `The secret${one ? '' : 's'} ${list(names)} no longer exist${one ? 's' : ''} ${restoreWhere(provider, names, file)}, or remove ${it} from SECRET_NAMES / the jobs file (${refs}, \`targets: { secret }\`, \`alerts.secret\`) if nothing needs ${it} any more.`,
    `The secrets service no longer serves ${it}: it dropped the cached value (and its last-known-good copy, if any) when the provider said ${it} ${one ? 'does' : 'do'} not exist, so jobs that need ${it} fail now (\`vigil secrets status\` shows NOT FOUND). Retrying does not help until ${it} exist${one ? 's' : ''} again.`,
    `Once restored, ${it} ${one ? 'is' : 'are'} fetched again by itself (next request, or the next warm cycle: SECRETS_WARM_INTERVAL) and a ✅ RESOLVED email follows; re-run the jobs that failed meanwhile (\`vigil runs --status failed\`). Removing ${it} from SECRET_NAMES / the jobs file sends no RESOLVED email.`,
  ];
}

const SECRETS_RETRY =
  'Nothing to re-run: the secrets service asks the provider again by itself (on the next request after SECRETS_ERROR_BACKOFF, and every warm cycle); a ✅ RESOLVED email follows once every secret alerted about answers again.';

const SECRETS_RETRY_AFTER_FIX =
  'This does not pass by itself: once the credentials are fixed, the secrets service asks again by itself (on the next request after SECRETS_ERROR_BACKOFF, and every warm cycle) and a ✅ RESOLVED email follows; re-run the jobs that failed meanwhile (`vigil runs --status failed`).';

/**
 * The advice on secrets with no cached value, by what the event tells about last-known-good copies: the per-secret
 * errors say "SECRETS_CACHE_KEY is unset" (copies off), "there is no last-known-good copy" (copies on, none for it)
 * or that the value is older than SECRETS_MAX_STALE. Not the other facts: the recipients note may quote another
 * secret's error.
 */
function uncachedAction(alert: Alert): string {
  const all = texts(alert).join('\n');
  const base =
    'Jobs that need a secret with no cached value fail until the provider answers (`vigil secrets status` shows NOT LOADED)';
  if (/SECRETS_CACHE_KEY is unset/.test(all))
    return `${base}; set SECRETS_CACHE_KEY on the secrets service so a restart keeps last-known-good copies (it is unset: none are kept now).`;
  if (/older than the maximum stale age/.test(all))
    return `${base}; their cached value is older than SECRETS_MAX_STALE, so it is no longer served.`;
  if (/no last-known-good copy/.test(all))
    return `${base}; last-known-good copies are on (SECRETS_CACHE_KEY is set), but there is none of these secrets.`;
  return `${base}; if SECRETS_CACHE_KEY is not set on the secrets service, set it so a restart keeps last-known-good copies.`;
}

/** `secrets.refresh-failed` / `secrets.stale-served`: what to do first. */
export function secretsActions(alert: Alert): string[] {
  const provider = secretsProviderOf(alert);
  const file = provider === 'file' ? secretsFileIn(texts(alert)) : undefined;
  const { notFound, failing } = secretsByOutcome(alert);
  const actions = notFound.length ? notFoundActions(notFound, provider, file) : [];
  const outage = failing.length > 0 || notFound.length === 0;
  if (!outage) return actions;
  // the provider's error for the secrets that failed otherwise (a mixed cycle's event error is `MultipleErrors`)
  const failure = (alert.failures ?? []).find((f) => failing.includes(f.target));
  const error: AlertError | undefined = failure
    ? { type: failure.error.split(':')[0], message: failure.error }
    : alert.error;
  const detail = error ? providerErrorDetail(provider, error) : undefined;
  // refused credentials: the fix leads, and neither "check AWS status" nor "it passes by itself" follows
  const cause = detail?.refused ? detail.advice : providerFailing(provider, error, file);
  if (alert.kind === 'secrets-stale-served') {
    actions.push(
      detail?.refused
        ? `A stale cached secret was served. ${cause}`
        : `A stale cached secret was served because the provider is unavailable. ${cause}`,
      'If the secret was rotated recently, jobs may fail with auth errors until the provider recovers.',
    );
  } else {
    actions.push(
      cause,
      alert.uncachedSecrets
        ? uncachedAction(alert)
        : 'Jobs keep running on the cached values while they last: `vigil secrets status` shows their age.',
    );
  }
  if (detail && !detail.refused) actions.push(detail.advice);
  actions.push(detail?.refused ? SECRETS_RETRY_AFTER_FIX : SECRETS_RETRY);
  return actions;
}

/** A job's error that comes from the secrets service: which provider it names, if any. */
export function providerNamedIn(text: string): SecretsProviderKind {
  const m = /\b(aws|file|env) provider\b/.exec(text)?.[1];
  if (m === 'aws' || m === 'file' || m === 'env') return m;
  return /SecretsManager|Secrets Manager|\bAWS\b/.test(text) ? 'aws' : 'unknown';
}
