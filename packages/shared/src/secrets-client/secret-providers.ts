/**
 * What the secrets service's providers (services/secrets src/providers) and those who advise on their errors (the
 * notifier's secrets emails) agree on: one definition, so neither can drift from the other.
 */

/** The env provider's variable of a secret: `db-password` -> `VIGIL_SECRET_DB_PASSWORD` (upper-cased, non-alphanumerics -> `_`). */
export function envVariableFor(name: string): string {
  return `VIGIL_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * The error type the secrets service gives a secret its provider does not have, whatever the provider (AWS's name
 * for it). Its code is VIGIL_E_SECRET_NOT_FOUND; the per-secret list of `secrets.refresh-failed` carries the type
 * only.
 */
export const SECRET_NOT_FOUND_TYPE = 'ResourceNotFoundException';
