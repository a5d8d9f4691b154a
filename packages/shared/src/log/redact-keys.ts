import { REDACTED } from './secret-values.js';

const EXACT = new Set([
  'password',
  'passwd',
  'pass',
  'pwd',
  'secret',
  'token',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'apikey',
  'accesskeyid',
  'secretaccesskey',
  'sessiontoken',
  'privatekey',
  'credentials',
  'creds',
  'secretscachekey',
]);
const SUFFIXES = ['password', 'secret', 'token', 'apikey', 'privatekey', 'accesskey', 'cachekey'];

function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_.\s]/g, '');
}

/** password, api_key, X-Api-Key, VIGIL_API_TOKEN, WEBHOOKS_SIGNING_SECRET, ... (not secretName, tokenCount). */
export function isSecretKey(key: string): boolean {
  const k = normalise(key);
  return EXACT.has(k) || SUFFIXES.some((s) => k.endsWith(s));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function needsWalk(v: unknown): boolean {
  return typeof v === 'object' && v !== null;
}

/**
 * A copy of `value` with secret-looking keys replaced at any depth. Under a secret-looking key holding an
 * object (e.g. `secret: { name, value }`) only `value`-like leaves are hidden so names stay readable.
 */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>(), inSecret = false): unknown {
  if (!needsWalk(value) || depth > 8) return value;
  const obj = value as object;
  if (seen.has(obj)) return '[Circular]';
  seen.add(obj);
  if (Array.isArray(obj)) return obj.map((v) => redactDeep(v, depth + 1, seen, inSecret));
  let source: Record<string, unknown>;
  let out: Record<string, unknown> = {};
  if (obj instanceof Error) {
    // Same prototype, so the logger's error serializer still reports the right type; the original is untouched.
    out = Object.create(Object.getPrototypeOf(obj));
    out.message = obj.message;
    out.stack = obj.stack;
    if (obj.cause !== undefined) out.cause = redactDeep(obj.cause, depth + 1, seen, inSecret);
    source = { ...obj };
  } else if (isPlainObject(obj)) source = obj;
  else if (obj instanceof Map) source = Object.fromEntries(obj);
  else return value;
  for (const [k, v] of Object.entries(source)) {
    const secretKey = isSecretKey(k) || (inSecret && (k === 'value' || k === 'data'));
    if (secretKey && !needsWalk(v)) out[k] = v === undefined || v === null ? v : REDACTED;
    else out[k] = redactDeep(v, depth + 1, seen, inSecret || secretKey);
  }
  return out;
}

/** Cheap check so ordinary log objects (flat, no secret keys) are passed through untouched. */
export function mayNeedRedaction(obj: Record<string, unknown>): boolean {
  for (const k in obj) {
    if (isSecretKey(k) || needsWalk(obj[k])) return true;
  }
  return false;
}
