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
    out = errorShell(obj);
    if (obj.cause !== undefined) setOwn(out, 'cause', redactDeep(obj.cause, depth + 1, seen, inSecret));
    source = { ...obj };
  } else if (isPlainObject(obj)) source = obj;
  else if (obj instanceof Map) source = Object.fromEntries(obj);
  else return value;
  for (const [k, v] of Object.entries(source)) {
    const secretKey = isSecretKey(k) || (inSecret && (k === 'value' || k === 'data'));
    if (secretKey && !needsWalk(v)) setOwn(out, k, v === undefined || v === null ? v : REDACTED);
    else setOwn(out, k, redactDeep(v, depth + 1, seen, inSecret || secretKey));
  }
  return out;
}

/** Defined, not assigned: an inherited getter without a setter (an error class's `code`) would make `=` throw. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * The copy of an error that redaction fills: the same prototype, so the logger's serializer still reports its type,
 * with `message`, `stack` and the values of its class's getters as its own properties (read from the original: a
 * getter may not work on a copy). A host error with Web IDL accessors (a DOMException, e.g. fetch's TimeoutError or
 * AbortError: brand-checked, enumerable getters for `name`, `message`, `code`, and enumerable constants beside
 * them) is copied onto Error's prototype instead, or serializing the copy would throw or list those constants.
 */
function errorShell(err: Error): Record<string, unknown> {
  const { getters, hostAccessors } = accessorsOf(err);
  const out: Record<string, unknown> = Object.create(hostAccessors ? Error.prototype : Object.getPrototypeOf(err));
  for (const k of getters) {
    try {
      const v = (err as unknown as Record<string, unknown>)[k];
      if (typeof v !== 'function') setOwn(out, k, v);
    } catch {
      // a getter that fails on the original too: left out
    }
  }
  Object.defineProperty(out, 'message', { value: err.message, writable: true, configurable: true });
  Object.defineProperty(out, 'stack', { value: err.stack, writable: true, configurable: true });
  return out;
}

/** Getters of the error's classes below Error.prototype; `hostAccessors` when any is enumerable (Web IDL). */
function accessorsOf(err: Error): { getters: string[]; hostAccessors: boolean } {
  const getters: string[] = [];
  let hostAccessors = false;
  for (let p = Object.getPrototypeOf(err); p && p !== Error.prototype && p !== Object.prototype; ) {
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) {
      if (!d.get || getters.includes(k)) continue;
      getters.push(k);
      if (d.enumerable) hostAccessors = true;
    }
    p = Object.getPrototypeOf(p);
  }
  return { getters, hostAccessors };
}

/** Cheap check so ordinary log objects (flat, no secret keys) are passed through untouched. */
export function mayNeedRedaction(obj: Record<string, unknown>): boolean {
  for (const k in obj) {
    if (isSecretKey(k) || needsWalk(obj[k])) return true;
  }
  return false;
}
