/**
 * A secrets provider outage the notifier alerted about, as pure state transitions (the dedupe store applies them
 * with compare-and-set, shared by replicas). Every `secrets.refresh-failed` / `secrets.stale-served` alert adds its
 * secrets; every `secrets.refreshed` with `recovered: true` takes its secrets out again. The recovery that empties
 * it ends the incident: that event, and only that one, sends the ✅ RESOLVED email. Nothing alerted, nothing
 * resolved: a recovery the notifier never alerted about sends nothing.
 */
export interface SecretsIncident {
  /** Event time of the first alert (ms). */
  since: number;
  /** Secrets alerted about and not seen refreshed since. */
  open: string[];
  /** Secrets announced as served stale during the outage. */
  stale: string[];
  /** Secrets whose warm-up refresh failed during the outage. */
  failed: string[];
  /** Of those, the ones whose latest failure said they do not exist (deleted or misnamed; absent in older records). */
  missing?: string[];
  /** Alerts of the outage (sent or folded). */
  alerts: number;
  /** The longest `downForSeconds` a recovery reported. */
  downForSeconds?: number;
  /** Per secret, when it was last seen refreshed (ms): a late alert about an earlier failure does not reopen it. */
  refreshedAt: Record<string, number>;
  /** Set when every secret answered again: the recovery event that ends the outage (its redelivery sends again). */
  endedBy?: { eventId: string; at: number };
}

/** Bound on each list: the record lives in one KV entry. */
const MAX_NAMES = 100;

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].slice(0, MAX_NAMES);
}

/** A failure alert (at `at`, event time in ms) about `names`; undefined when there is nothing to record. */
export function noteSecretsAlert(
  current: SecretsIncident | undefined,
  alert: { kind: 'secrets-stale-served' | 'secrets-refresh-failed'; names: string[]; at: number; missing?: string[] },
): SecretsIncident | undefined {
  // An ended outage is history: a later alert starts the next one; an earlier one belongs to it (already resolved).
  if (current?.endedBy && alert.at <= current.endedBy.at) return undefined;
  const base = current && !current.endedBy ? current : undefined;
  const refreshedAt = base?.refreshedAt ?? {};
  const names = alert.names.filter((n) => !(refreshedAt[n] >= alert.at));
  if (names.length === 0 && alert.names.length > 0) return undefined;
  const stale = alert.kind === 'secrets-stale-served' ? names : [];
  const failed = alert.kind === 'secrets-refresh-failed' ? names : [];
  // a secret's latest failure decides whether it is missing: one served stale or failing otherwise is not
  const nowMissing = new Set(alert.missing ?? []);
  const missing = union(
    (base?.missing ?? []).filter((n) => !names.includes(n)),
    names.filter((n) => nowMissing.has(n)),
  );
  return {
    since: Math.min(base?.since ?? alert.at, alert.at),
    open: union(base?.open ?? [], names),
    stale: union(base?.stale ?? [], stale),
    failed: union(base?.failed ?? [], failed),
    ...(missing.length ? { missing } : {}),
    alerts: (base?.alerts ?? 0) + 1,
    ...(base?.downForSeconds !== undefined ? { downForSeconds: base.downForSeconds } : {}),
    refreshedAt,
  };
}

export type RecoveryDecision =
  /** Nothing was alerted (or another recovery already ended it): no email. */
  | { action: 'ignore'; next?: undefined }
  /** Some alerted secrets still fail: no email yet. */
  | { action: 'wait'; next: SecretsIncident; stillOpen: string[] }
  /** Every alerted secret answers again: this event sends the resolved email. */
  | { action: 'resolve'; next: SecretsIncident };

/** A recovery event (`eventId`, at `at` ms) for `names`. */
export function noteSecretsRecovery(
  current: SecretsIncident | undefined,
  recovery: { eventId: string; names: string[]; at: number; downForSeconds?: number },
): RecoveryDecision {
  if (!current) return { action: 'ignore' };
  if (current.endedBy) {
    // The redelivery of the event that ended it (its email was not sent yet) sends it; any other sends nothing.
    return current.endedBy.eventId === recovery.eventId ? { action: 'resolve', next: current } : { action: 'ignore' };
  }
  const refreshedAt = { ...current.refreshedAt };
  for (const n of recovery.names) refreshedAt[n] = Math.max(refreshedAt[n] ?? 0, recovery.at);
  const kept = Object.entries(refreshedAt)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4 * MAX_NAMES);
  const done = new Set(recovery.names);
  const open = current.open.filter((n) => !done.has(n));
  const downForSeconds =
    recovery.downForSeconds === undefined
      ? current.downForSeconds
      : Math.max(current.downForSeconds ?? 0, recovery.downForSeconds);
  const next: SecretsIncident = {
    ...current,
    open,
    refreshedAt: Object.fromEntries(kept),
    ...(downForSeconds !== undefined ? { downForSeconds } : {}),
  };
  if (open.length > 0) return { action: 'wait', next, stillOpen: open };
  return { action: 'resolve', next: { ...next, endedBy: { eventId: recovery.eventId, at: recovery.at } } };
}
