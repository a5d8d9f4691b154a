import { ErrorCode, PermanentError } from '../errors/index.js';

export const SECRET_TEMPLATE = /\$\{secret:([^}]+)\}/g;

/** `NAME.a.b` -> { name: 'NAME', path: ['a', 'b'] }. */
export function splitRef(ref: string): { name: string; path: string[] } {
  const parts = ref.trim().split('.');
  return { name: parts[0], path: parts.slice(1) };
}

/** Every distinct reference inside the `${secret:…}` markers of a text. */
export function templateRefs(text: string): string[] {
  return [...new Set([...text.matchAll(SECRET_TEMPLATE)].map((m) => m[1].trim()))];
}

/** Picks a field path out of a JSON secret; strings stay as they are, other values become JSON. */
export function selectField(name: string, value: string, path: string[]): string {
  if (path.length === 0) return value;
  let node: unknown;
  try {
    node = JSON.parse(value);
  } catch {
    throw new PermanentError(`secret "${name}" is not JSON, so it has no field "${path.join('.')}"`, {
      code: ErrorCode.SECRET_NOT_FOUND,
      details: { name, field: path.join('.') },
    });
  }
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !(key in node)) {
      throw new PermanentError(`secret "${name}" has no field "${path.join('.')}"`, {
        code: ErrorCode.SECRET_NOT_FOUND,
        details: { name, field: path.join('.') },
      });
    }
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'string' ? node : JSON.stringify(node);
}

/**
 * Leaf strings of a JSON secret, so each field is redacted from logs on its own too. Numbers, booleans and null
 * are not secrets worth scrubbing: replacing `5432` or `true` everywhere would corrupt unrelated JSON fields.
 */
export function jsonLeaves(value: string): string[] {
  const first = value.trimStart()[0];
  if (first !== '{' && first !== '[') return [];
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    return [];
  }
  const out: string[] = [];
  const walk = (n: unknown) => {
    if (typeof n === 'string') out.push(n);
    else if (n && typeof n === 'object') for (const v of Object.values(n)) walk(v);
  };
  walk(doc);
  return out;
}
