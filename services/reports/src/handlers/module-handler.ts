import { statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, ValidationError } from '@vigil/shared';
import type { JobHandler } from '../handler-api.js';

/** Imports in flight or done, by file and version (`<file>?v=<mtime>`). */
const loaded = new Map<string, Promise<JobHandler>>();

/** One `module:` handler of one jobs directory: where it is, which version was last seen, and its handler once loaded. */
interface ModuleEntry {
  rel: string;
  file: string;
  mtime: number;
  checkedAt: number;
  handler?: JobHandler;
}
/** By jobs directory, then by handler spec: both strings are the jobs file's own, so lookups hash nothing new per run. */
const entries = new Map<string, Map<string, ModuleEntry>>();

function entryFor(spec: string, baseDir: string): ModuleEntry {
  let byDir = entries.get(baseDir);
  if (!byDir) {
    byDir = new Map();
    entries.set(baseDir, byDir);
  }
  let e = byDir.get(spec);
  if (!e) {
    const rel = spec.slice('module:'.length).trim();
    e = { rel, file: path.resolve(baseDir, rel), mtime: 0, checkedAt: Number.NEGATIVE_INFINITY };
    byDir.set(spec, e);
  }
  return e;
}

/** The module's mtime, looked at no more than once a second (this is on every run's path); a change drops the handler. */
function refreshVersion(e: ModuleEntry): void {
  const now = Date.now();
  if (now - e.checkedAt < 1000) return;
  e.checkedAt = now;
  let mtime = 0;
  try {
    mtime = statSync(e.file).mtimeMs;
  } catch {
    // missing: the import reports it
  }
  if (mtime !== e.mtime) {
    e.mtime = mtime;
    e.handler = undefined;
  }
}

function isHandler(value: unknown): value is JobHandler {
  return typeof value === 'object' && value !== null && typeof (value as JobHandler).run === 'function';
}

/**
 * Loads `module:<path>` (relative to the jobs file's directory): an ES module whose default export is
 * `defineHandler({ validate?, run })`. Loaded once per process (a promise only until then); a broken module is a
 * validation error.
 */
export function loadModuleHandler(spec: string, baseDir: string): JobHandler | Promise<JobHandler> {
  const e = entryFor(spec, baseDir);
  refreshVersion(e);
  if (e.handler) return e.handler;
  const { rel, file } = e;
  const version = e.mtime;
  // Keyed by modification time: an edited module is imported afresh (the URL query busts the ESM cache).
  const key = `${file}?v=${version}`;
  let p = loaded.get(key);
  if (!p) {
    const url = `${pathToFileURL(file).href}${version ? `?v=${version}` : ''}`;
    p = import(url).then(
      (mod: { default?: unknown }) => {
        if (!isHandler(mod.default)) {
          throw new ValidationError(`${rel}: default export must be defineHandler({ validate?, run })`, {
            code: ErrorCode.HANDLER_UNKNOWN,
            details: { module: file },
          });
        }
        return mod.default;
      },
      (err: unknown) => {
        throw new ValidationError(`${rel}: cannot load handler module: ${(err as Error).message}`, {
          code: ErrorCode.HANDLER_UNKNOWN,
          cause: err,
          details: { module: file },
        });
      },
    );
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  // Later runs get it without a promise, unless the module changed meanwhile.
  void p.then(
    (h) => {
      if (e.mtime === version) e.handler = h;
    },
    () => undefined,
  );
  return p;
}
