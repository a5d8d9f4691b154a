import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Test files that rebuild dist/ take turns on this lock, so none reads a half-written build. */
export const BUILD_LOCK = path.join(tmpdir(), 'vigil-test-build.lock');

/** Runs `command` under the build lock (plain when `flock` is not installed). */
export function runUnderBuildLock(command: string[], cwd: string): void {
  try {
    execFileSync('flock', [BUILD_LOCK, ...command], { cwd, stdio: 'inherit' });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
    execFileSync(command[0], command.slice(1), { cwd, stdio: 'inherit' });
  }
}

/** `pnpm exec tsc -b <dirs>` under the build lock: for tests that start built services as processes. */
export function buildPackages(root: string, ...dirs: string[]): void {
  runUnderBuildLock(['pnpm', 'exec', 'tsc', '-b', ...dirs], root);
}
