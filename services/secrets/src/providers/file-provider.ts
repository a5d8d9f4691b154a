import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { providerFailure, secretNotFound } from './provider-errors.js';
import type { SecretProvider } from './types.js';

interface Snapshot {
  mtimeMs: number;
  size: number;
  values: Map<string, string>;
}

/**
 * Secrets from one JSON or YAML file: `{ name: "text" }` or `{ name: { json: object } }` (objects are served as
 * JSON text, so `${secret:name.field}` works). The file is re-read whenever its mtime or size changes.
 */
export function createFileProvider(file: string): SecretProvider {
  let snapshot: Snapshot | undefined;
  let loading: Promise<Snapshot> | undefined;

  const load = async (name: string): Promise<Snapshot> => {
    let info: { mtimeMs: number; size: number };
    try {
      info = await stat(file);
    } catch (err) {
      throw unreadable(name, file, err);
    }
    if (snapshot && snapshot.mtimeMs === info.mtimeMs && snapshot.size === info.size) return snapshot;
    if (!loading) {
      loading = readAndParse(file, name, info).finally(() => {
        loading = undefined;
      });
    }
    snapshot = await loading;
    return snapshot;
  };

  return {
    name: 'file',
    async get(name: string) {
      const snap = await load(name);
      const value = snap.values.get(name);
      if (value === undefined) throw secretNotFound(name, 'file', file);
      return { value };
    },
  };
}

async function readAndParse(file: string, name: string, info: { mtimeMs: number; size: number }): Promise<Snapshot> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw unreadable(name, file, err);
  }
  let doc: unknown;
  try {
    doc = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch {
    // The parser's message may quote file content (a secret), so it is not repeated here.
    throw providerFailure(name, 'file', 'InvalidSecretsFile', `secrets file ${file} is not valid JSON or YAML`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw providerFailure(name, 'file', 'InvalidSecretsFile', `secrets file ${file} must map names to values`);
  }
  const values = new Map<string, string>();
  for (const [key, v] of Object.entries(doc as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    values.set(key, typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  return { mtimeMs: info.mtimeMs, size: info.size, values };
}

/** The file cannot be read: the message names the file and says why in words (`… does not exist`). */
function unreadable(name: string, file: string, err: unknown) {
  const code = codeOf(err);
  const why =
    code === 'ENOENT'
      ? 'does not exist'
      : code === 'EACCES' || code === 'EPERM'
        ? 'is not readable (permission denied)'
        : code === 'EISDIR'
          ? 'is a directory'
          : `cannot be read (${code})`;
  return providerFailure(name, 'file', code, `secrets file ${file} ${why}`);
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'FileError';
}
