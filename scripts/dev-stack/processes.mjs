// Telling processes apart: a pid alone can be reused, so every process this stack records or stops is
// identified by pid + start time, and found again after a crash by the VIGIL_DEV_STACK mark in its environment.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isDefaultState, root, state } from './paths.mjs';
import { say, sleep } from './util.mjs';

/** Services bound their own shutdown at 20 s (runService's shutdownTimeoutMs); only then does SIGKILL come. */
export const SERVICE_GRACE_MS = 25_000;
/** maildev forces its own exit after 10 s; Redis and NATS stop in well under a second. */
export const INFRA_GRACE_MS = 12_000;
export const INFRA = new Set(['nats', 'redis', 'mail']);

/** In every child's environment (inherited by whatever it starts): which stack and which run it belongs to. */
export const MARK = 'VIGIL_DEV_STACK';
// Keyed by the state dir, not the checkout: a test's stack (VIGIL_STATE_DIR) and a developer's `npm start` in
// the same checkout must never take each other's processes for leftovers.
export const runMark = `${state}#${process.pid}-${randomBytes(4).toString('hex')}`;
/** Mark prefixes of earlier runs of this stack; versions before VIGIL_STATE_DIR marked with the checkout. */
export const staleMarks = isDefaultState ? [`${state}#`, `${root}#`] : [`${state}#`];

export const hasProc = existsSync('/proc/self/stat');
const bootId = hasProc ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : '';
export const procText = (pid, file) => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
};
export const procLink = (pid, link) => {
  try {
    return readlinkSync(`/proc/${pid}/${link}`);
  } catch {
    return '';
  }
};

/** What tells this exact process apart from a later one with the same pid (its start time); undefined once gone. */
export function identity(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (hasProc) {
    const stat = procText(pid, 'stat');
    if (!stat) return undefined;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, not yet reaped: its ports are free
    return `${bootId}:${fields[19]}`;
  }
  const r = spawnSync('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], { encoding: 'utf8' });
  const out = r.status === 0 ? r.stdout.trim() : '';
  return out && !out.startsWith('Z') ? out.replace(/^\S+\s+/, '') : undefined;
}

export const commandOf = (pid) =>
  hasProc
    ? procText(pid, 'cmdline').split('\0').join(' ').trim()
    : (spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).stdout ?? '').trim();

export const signal = (pid, sig) => {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
};

/** Waits until each { pid, id } has exited; returns the ones still running after ms. */
export async function waitGone(procs, ms) {
  const end = Date.now() + ms;
  let left = procs.filter((p) => identity(p.pid) === p.id);
  while (left.length > 0 && Date.now() < end) {
    await sleep(100);
    left = left.filter((p) => identity(p.pid) === p.id);
  }
  return left;
}

/** SIGTERM, and SIGKILL for whatever is still there after graceMs; resolves once all are gone (or truly stuck). */
export async function terminate(procs, graceMs) {
  for (const p of procs) signal(p.pid, 'SIGTERM');
  const stuck = await waitGone(procs, graceMs);
  for (const p of stuck) {
    say(`${p.name} (pid ${p.pid}) did not stop within ${graceMs / 1000}s: SIGKILL`);
    signal(p.pid, 'SIGKILL');
  }
  return waitGone(stuck, 5_000);
}

/** Processes carrying one of the given VIGIL_DEV_STACK values (prefix match when it ends in '#'). Linux only. */
export function marked(...values) {
  if (!hasProc) return [];
  const matches = (mark) => values.some((v) => (v.endsWith('#') ? mark.startsWith(v) : mark === v));
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const pid = Number(entry);
    const vars = procText(pid, 'environ').split('\0');
    const mark = vars.find((v) => v.startsWith(`${MARK}=`))?.slice(MARK.length + 1);
    if (!mark || !matches(mark)) continue;
    const id = identity(pid);
    const name = vars.find((v) => v.startsWith(`${MARK}_CHILD=`))?.slice(MARK.length + 7) ?? 'process';
    if (id) found.push({ pid, id, name });
  }
  return found;
}
