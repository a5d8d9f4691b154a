import { envVariableFor } from '@vigil/shared';
import { secretNotFound } from './provider-errors.js';
import type { SecretProvider } from './types.js';

/**
 * Secrets from `VIGIL_SECRET_<NAME>` variables (shared envVariableFor: the notifier's advice names the same ones;
 * collected by config.ts, this module never reads process.env).
 */
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
