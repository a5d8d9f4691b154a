// A later `npm start` after a crash of this one (kill -9, a closed laptop…) stops what the crashed run left
// behind, and only that: never a process that merely uses a default port.
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { readRecord, refuseIfRunning } from './owner.mjs';
import { legacyRunDir, mailDir, natsDir, redisDir, root } from './paths.mjs';
import { portFree } from './ports.mjs';
import {
  hasProc,
  INFRA,
  INFRA_GRACE_MS,
  identity,
  marked,
  procLink,
  procText,
  SERVICE_GRACE_MS,
  staleMarks,
  terminate,
} from './processes.mjs';
import { say, sleep } from './util.mjs';

/** Whether pid is the named child of an older version of this script, which marked nothing. */
function startedByOldVersion(pid, name) {
  const cmd = procText(pid, 'cmdline').split('\0');
  const exe = path.basename(procLink(pid, 'exe'));
  // Debian's redis-server is a link to redis-check-rdb: the name it was started by is in comm.
  const redis = procText(pid, 'comm').startsWith('redis-server') || exe.startsWith('redis-');
  // Redis rewrites its command line to `redis-server 127.0.0.1:<port>`: its working directory says whose it is.
  if (name === 'redis') return redis && procLink(pid, 'cwd') === redisDir;
  if (name === 'nats') return exe.startsWith('nats-server') && cmd.includes(natsDir);
  if (name === 'mail') return cmd.some((a) => a.endsWith('maildev.js')) && cmd.includes(mailDir);
  return cmd.includes(path.join(root, 'services', name, 'dist', 'main.js'));
}

/**
 * Stops the children listed in pids.json that are still the same processes, anything carrying this stack's
 * VIGIL_DEV_STACK mark, and what older versions of this script started (Redis, NATS and maildev with this
 * state dir's stores, the pids of run/*.pid). Services first, then the servers; waits until they are gone.
 * Exits when another `npm start` runs this stack, or a leftover cannot be stopped.
 */
export async function cleanStale() {
  const old = readRecord();
  refuseIfRunning(old);
  const stale = new Map();
  const add = (p) => {
    if (p.id && p.pid !== process.pid && !stale.has(p.pid)) stale.set(p.pid, p);
  };
  for (const c of old?.children ?? []) if (identity(c.pid) === c.id) add(c);
  for (const p of marked(...staleMarks)) add(p);

  if (existsSync(legacyRunDir)) {
    for (const f of readdirSync(legacyRunDir).filter((n) => n.endsWith('.pid'))) {
      const pid = Number(readFileSync(path.join(legacyRunDir, f), 'utf8'));
      const name = f.slice(0, -'.pid'.length);
      if (hasProc && startedByOldVersion(pid, name)) add({ pid, id: identity(pid), name });
      rmSync(path.join(legacyRunDir, f), { force: true });
    }
    try {
      rmdirSync(legacyRunDir);
    } catch {
      // not empty: not ours to remove
    }
  }
  if (hasProc) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      for (const name of ['redis', 'nats', 'mail']) {
        if (startedByOldVersion(pid, name)) add({ pid, id: identity(pid), name });
      }
    }
  }

  const all = [...stale.values()];
  for (const p of all) say(`stopping a leftover ${p.name} (pid ${p.pid}) from an earlier run`);
  const left = [
    ...(await terminate(
      all.filter((p) => !INFRA.has(p.name)),
      SERVICE_GRACE_MS,
    )),
    ...(await terminate(
      all.filter((p) => INFRA.has(p.name)),
      INFRA_GRACE_MS,
    )),
  ];
  if (left.length > 0) {
    console.error(
      `\n[vigil] could not stop ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')} from an earlier run; ` +
        'stop it, then run `npm start` again.\n',
    );
    process.exit(1);
  }
  // Gone processes have closed their sockets; still, give the kernel a moment before ports are chosen.
  const ports = (old?.children ?? []).map((c) => c.port).filter(Boolean);
  if (all.length > 0) {
    const end = Date.now() + 3_000;
    while (Date.now() < end && !(await Promise.all(ports.map(portFree))).every(Boolean)) await sleep(100);
    say(`leftovers stopped (${all.length})`);
  }
}
