// When a child that exited on its own comes back: what docker-compose `restart: unless-stopped` and Kubernetes
// do for the same services in production, so `npm start` behaves like what operators will run.

const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
/** A process that ran this long was healthy: its next crash is a new incident, not the same crash loop. */
export const STABLE_AFTER_MS = 60_000;

/** Exit codes a restart cannot fix (sysexits / shell conventions); runService exits 78 on a bad environment. */
const FINAL_EXITS = new Map([
  [78, 'EX_CONFIG, its configuration is wrong'],
  [2, 'a usage error, its command line is wrong'],
]);

/** Milliseconds to wait before the next start: 1 s, doubling up to 30 s, back to 1 s after a stable run. */
export function restartDelay(previousDelayMs, ranMs) {
  if (previousDelayMs === undefined || ranMs >= STABLE_AFTER_MS) return FIRST_DELAY_MS;
  return Math.min(previousDelayMs * 2, MAX_DELAY_MS);
}

/** Why the child must stay stopped, or undefined when it should be started again. */
export function finalExitReason(code, sig) {
  return sig ? undefined : FINAL_EXITS.get(code);
}

export const describeExit = (code, sig) => sig ?? `code ${code}`;
