import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, ValidationError } from '@vigil/shared';
import type { JobHandler } from '../handler-api.js';

const loaded = new Map<string, Promise<JobHandler>>();

function isHandler(value: unknown): value is JobHandler {
  return typeof value === 'object' && value !== null && typeof (value as JobHandler).run === 'function';
}

/**
 * Loads `module:<path>` (relative to the jobs file's directory): an ES module whose default export is
 * `defineHandler({ validate?, run })`. Loaded once per process; a broken module is a validation error.
 */
export function loadModuleHandler(spec: string, baseDir: string): Promise<JobHandler> {
  const rel = spec.slice('module:'.length).trim();
  const file = path.resolve(baseDir, rel);
  let p = loaded.get(file);
  if (!p) {
    p = import(pathToFileURL(file).href).then(
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
    p.catch(() => loaded.delete(file));
    loaded.set(file, p);
  }
  return p;
}
