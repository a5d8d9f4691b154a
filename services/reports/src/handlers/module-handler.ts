import { statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, ValidationError } from '@vigil/shared';
import type { JobHandler } from '../handler-api.js';

const loaded = new Map<string, Promise<JobHandler>>();
/** Handlers whose import finished, by the same key: the per-run path gets them without a promise. */
const ready = new Map<string, JobHandler>();
const stats = new Map<string, { at: number; mtime: number }>();
const paths = new Map<string, string>();

function resolvedPath(baseDir: string, rel: string): string {
  const key = `${baseDir}\0${rel}`;
  let p = paths.get(key);
  if (!p) {
    p = path.resolve(baseDir, rel);
    paths.set(key, p);
  }
  return p;
}

/** The module's mtime, looked at no more than once a second (this is on every run's path). */
function mtimeOf(file: string): number {
  const now = Date.now();
  const s = stats.get(file);
  if (s && now - s.at < 1000) return s.mtime;
  let mtime = 0;
  try {
    mtime = statSync(file).mtimeMs;
  } catch {
    // missing: the import reports it
  }
  stats.set(file, { at: now, mtime });
  return mtime;
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
  const rel = spec.slice('module:'.length).trim();
  const file = resolvedPath(baseDir, rel);
  // Keyed by modification time: an edited module is imported afresh (the URL query busts the ESM cache).
  const version = mtimeOf(file);
  const key = `${file}?v=${version}`;
  const done = ready.get(key);
  if (done) return done;
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
        ready.set(key, mod.default);
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
  return p;
}
