import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const extraDirs = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

/** Finds a server binary on PATH or in the sbin dirs Debian installs daemons into. */
export function findBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...extraDirs];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} not found on PATH or in ${extraDirs.join(', ')}; run npm test, which installs it`);
}
