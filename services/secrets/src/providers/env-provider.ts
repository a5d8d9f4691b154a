import { secretNotFound } from './provider-errors.js';
import type { SecretProvider } from './types.js';

/** `db-password` -> `VIGIL_SECRET_DB_PASSWORD`: upper-cased, every non-alphanumeric character becomes `_`. */
export function envVariableFor(name: string): string {
  return `VIGIL_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Secrets from `VIGIL_SECRET_<NAME>` variables (collected by config.ts; this module never reads process.env). */
export function createEnvProvider(variables: Record<string, string | undefined>): SecretProvider {
  return {
    name: 'env',
    async get(name: string) {
      const value = variables[envVariableFor(name)];
      if (value === undefined) throw secretNotFound(name, 'env', `${envVariableFor(name)} is unset`);
      return { value };
    },
  };
}
