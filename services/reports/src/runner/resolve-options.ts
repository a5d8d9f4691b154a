import type { HandlerSecrets } from '../handler-api.js';

const SECRET_REF = '${secret:';

/** Deep copy of `value` with every `${secret:…}` inside strings resolved. Values are never logged. */
export async function resolveSecretRefs(value: unknown, secrets: HandlerSecrets): Promise<unknown> {
  if (typeof value === 'string') return value.includes(SECRET_REF) ? secrets.resolve(value) : value;
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolveSecretRefs(v, secrets)));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await resolveSecretRefs(v, secrets);
    return out;
  }
  return value;
}

/** True when any string inside `value` references a secret (so the fast path can skip resolution). */
export function hasSecretRefs(value: unknown): boolean {
  if (typeof value === 'string') return value.includes(SECRET_REF);
  if (Array.isArray(value)) return value.some(hasSecretRefs);
  if (value && typeof value === 'object') return Object.values(value).some(hasSecretRefs);
  return false;
}
