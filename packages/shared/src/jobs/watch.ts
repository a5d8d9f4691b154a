import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

export interface FileWatch {
  stop(): void;
}

/**
 * Calls `onChange` (debounced) when `file` changes. Watches the directory, because editors and ConfigMap
 * updates replace a file rather than write it in place. A watch that cannot start is logged, not fatal:
 * SIGHUP still reloads.
 */
export function watchFile(file: string, onChange: () => void, log: Logger, debounceMs = 200): FileWatch {
  const dir = path.dirname(path.resolve(file));
  const base = path.basename(file);
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, (_event, name) => {
      if (name !== null && name !== base) return;
      clearTimeout(debounce);
      debounce = setTimeout(onChange, debounceMs);
    });
    watcher.on('error', (err) => log.warn({ err, file }, 'file watch failed'));
  } catch (err) {
    log.warn({ err, file }, 'cannot watch the file; reload with SIGHUP');
  }
  return {
    stop: () => {
      clearTimeout(debounce);
      watcher?.close();
    },
  };
}
