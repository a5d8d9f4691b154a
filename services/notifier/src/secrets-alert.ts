import type { Alert, AlertFailure } from './alert.js';
import { errorOf, factsOf, isRec, num, parseSeverity, type Rec, str } from './event-fields.js';
import { isSecretNotFound } from './secrets-actions.js';
import type { EventLike } from './to-alert.js';

// `secrets.refresh-failed`, `secrets.stale-served` and `secrets.refreshed` (recovered) as Alerts.

/** Where a stale value came from, in words (`source` of secrets.stale-served). */
function servedFrom(source: string): string {
  return source === 'last-known-good'
    ? 'last-known-good copy (sealed in Redis)'
    : `cached copy (last fetched from ${source})`;
}

function namesOf(d: Rec): string[] {
  return Array.isArray(d.names) ? d.names.filter((n): n is string => typeof n === 'string' && n !== '') : [];
}

/** How many failed secrets an email lists one by one (a warm cycle can fail for every configured secret). */
const MAX_FAILED_SECRETS = 100;

/**
 * `failed` of secrets.refresh-failed, per secret: `{ name, type, error, refused?, class?, code? }` -> `Type: message`
 * (what the provider said about that secret: it names a missing secret, the secrets file, SECRETS_CACHE_KEY).
 */
function failedSecretsOf(v: unknown): AlertFailure[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const list = v
    .filter(isRec)
    .filter((f) => str(f.name))
    .slice(0, MAX_FAILED_SECRETS)
    .map((f) => {
      const type = str(f.type) ?? 'Error';
      const code = str(f.code) && f.code !== type ? ` (${f.code})` : '';
      return { target: String(f.name), error: `${type}${code}: ${str(f.error) ?? str(f.message) ?? 'failed'}` };
    });
  return list.length ? list : undefined;
}

/**
 * `cached: false` of a refresh failure: is it about a secret that exists (no value to serve while the provider
 * fails: SECRETS_CACHE_KEY may help), not only about secrets the provider does not have (dropped by design)? Per
 * secret when the event says (`failed[].cached`), else from the errors: a secret with nothing cached fails with
 * "is unavailable", a breaker refusal says "not asked".
 */
function uncachedBesidesMissing(failed: unknown, failures: AlertFailure[] | undefined): boolean {
  const list = Array.isArray(failed) ? failed.filter(isRec) : [];
  const missing = (f: AlertFailure) => isSecretNotFound(f.error);
  if (list.some((f) => typeof f.cached === 'boolean')) {
    const gone = (f: Rec) => isSecretNotFound(`${str(f.type) ?? ''} ${str(f.code) ?? ''} ${str(f.error) ?? ''}`);
    return list.some((f) => f.cached === false && !gone(f));
  }
  if (!failures?.length) return true; // no per-secret list: `cached: false` as it stands
  const others = failures.filter((f) => !missing(f));
  if (others.length === failures.length) return true; // no missing secret among them: `cached: false` is theirs
  return others.some((f) => /is unavailable|not asked/.test(f.error));
}

export function secretsAlert(ev: EventLike, family: string, d: Rec): Alert {
  const names = namesOf(d);
  const name = str(d.name) ?? (names.length ? names.join(', ') : 'secrets');
  const error = errorOf(d.error);
  const facts = factsOf(d, [
    ['Secret', 'name'],
    ['Provider', 'provider'],
    ['Failed', 'failed'],
    ['Refreshed', 'refreshed'],
    ['Total', 'total'],
    ['Cache age (s)', 'ageSeconds'],
  ]);
  // "Source" is the alert's origin (secrets:aws) in the details; this is where the stale value came from.
  const source = str(d.source);
  if (source) facts.push(['Served from', servedFrom(source)]);
  if (names.length) facts.push(['Secrets', names.join(', ')]);
  const stale = family === 'stale-served';
  const failures = stale ? undefined : failedSecretsOf(d.failed);
  const uncached = !stale && d.cached === false && uncachedBesidesMissing(d.failed, failures);
  if (uncached) facts.push(['Impact', 'no cached value for some of them: jobs that need them fail']);
  const items = str(d.name) ? [name] : names;
  // the failures the provider says do not exist (deleted or misnamed: not an outage)
  const missing = (failures ?? []).filter((f) => isSecretNotFound(f.error)).map((f) => f.target);
  return {
    ...(uncached ? { uncachedSecrets: true } : {}),
    ...(missing.length ? { missingSecrets: missing } : {}),
    eventId: ev.id,
    subject: ev.subject ?? `secrets.${family}`,
    kind: stale ? 'secrets-stale-served' : 'secrets-refresh-failed',
    // seed 001: a warming cycle is CRITICAL only when more than half the secrets failed; the secrets service says which
    severity: stale ? 'WARNING' : parseSeverity(d.severity, 'CRITICAL'),
    resolved: false,
    headline: stale ? `stale secret served: ${name}` : `secrets refresh failed: ${name}`,
    scope: `secrets:${str(d.provider) ?? 'provider'}`,
    occurredAt: ev.time ?? new Date().toISOString(),
    error,
    ...(failures ? { failures } : {}),
    facts,
    ...(items.length ? { items } : {}),
    groupType: error?.type ?? (stale ? 'stale-served' : 'refresh-failed'),
  };
}

/**
 * `secrets.refreshed` with `recovered: true`: the provider answers again (per secret from the cache, or a whole
 * warm cycle). The notifier turns it into a ✅ RESOLVED email only for an outage it alerted about (notifier.ts).
 */
export function secretsRecoveredAlert(ev: EventLike, d: Rec): Alert | undefined {
  if (d.recovered !== true) return undefined;
  const names = namesOf(d);
  const provider = str(d.provider) ?? 'provider';
  const facts: Array<[string, string]> = [['Provider', provider]];
  const down = num(d.downForSeconds);
  return {
    eventId: ev.id,
    subject: ev.subject ?? 'secrets.refreshed',
    kind: 'secrets-recovered',
    severity: 'INFO',
    resolved: true,
    headline: `secrets provider recovered: ${provider} answers again`,
    scope: `secrets:${provider}`,
    occurredAt: ev.time ?? str(d.at) ?? new Date().toISOString(),
    facts,
    items: names,
    ...(down !== undefined ? { recovery: { downForSeconds: down } } : {}),
    groupType: 'recovered',
  };
}
