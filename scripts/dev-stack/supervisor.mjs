// Starts the stack's children and brings back one that exits while the stack is not stopping, with the same
// command, environment, working directory and port (infra keeps its data dir, so JetStream and Redis state
// survive). Every child runs in its own process group, so the terminal's Ctrl-C reaches only this script,
// which then signals each child exactly once (shutdown.mjs).
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { logFile, root, shown } from './paths.mjs';
import { INFRA, identity, MARK, runMark } from './processes.mjs';
import { forgetChild, recordChild } from './record.mjs';
import { describeExit, finalExitReason, restartDelay } from './restart-policy.mjs';
import { say, sleep } from './util.mjs';

/** Lines of a child's own output kept to explain why it stays stopped. */
const TAIL_LINES = 8;

/** One entry per supervised child, in start order; `child` is its current process. */
export const children = [];
let stopping = false;
export const isStopping = () => stopping;

let spawnFailed = () => {};
/** What to do when a child cannot even be spawned (a missing binary): nothing a restart would fix. */
export function onSpawnFailure(handler) {
  spawnFailed = handler;
}

/** From now on nothing starts, neither at start-up nor after a backoff wait; the shutdown owns every child. */
export function stopStarting() {
  stopping = true;
  for (const c of children) clearTimeout(c.timer);
}

export const running = (c) => c.child?.pid !== undefined && c.child.exitCode === null && c.child.signalCode === null;
export const exited = (c) => (running(c) ? new Promise((r) => c.child.once('exit', r)) : undefined);
/** Children that exited with a code a restart cannot fix: nobody should wait for them to become ready. */
export const stayedStopped = () => children.filter((c) => c.stayedStopped).map((c) => c.name);

export function start(name, command, args, { env = {}, cwd = root, port } = {}) {
  if (stopping) return undefined;
  const entry = {
    name,
    command,
    args,
    env,
    cwd,
    port,
    infra: INFRA.has(name),
    log: createWriteStream(logFile(name), { flags: 'a' }),
    restarts: 0,
    delayMs: undefined,
  };
  children.push(entry);
  spawnChild(entry);
  return entry;
}

function spawnChild(entry) {
  const { name, command, args } = entry;
  const child = spawn(command, args, {
    cwd: entry.cwd,
    env: { ...process.env, ...entry.env, [MARK]: runMark, [`${MARK}_CHILD`]: name },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  entry.child = child;
  entry.startedAt = Date.now();
  entry.tail = [];
  if (child.pid) {
    recordChild({
      name,
      pid: child.pid,
      id: identity(child.pid),
      port: entry.port,
      command: [command, ...args].join(' '),
    });
  }
  const prefix = `${name.padEnd(9)} │ `;
  const relay = (chunk) => {
    entry.log.write(chunk);
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      entry.tail.push(line);
      if (entry.tail.length > TAIL_LINES) entry.tail.shift();
      if (process.env.VIGIL_QUIET !== '1') process.stdout.write(`${prefix + line}\n`);
    }
  };
  child.stdout.on('data', relay);
  child.stderr.on('data', relay);
  child.on('error', (err) => {
    say(`${name} could not start: ${err.message}`);
    spawnFailed(err);
  });
  child.on('exit', (code, sig) => {
    forgetChild(child.pid, { save: !stopping });
    if (!stopping) void afterExit(entry, child, code, sig);
  });
}

async function afterExit(entry, child, code, sig) {
  const { name } = entry;
  const log = shown(logFile(name));
  const reason = finalExitReason(code, sig);
  if (reason) {
    entry.stayedStopped = true;
    // Its last words may still be in the pipe when the exit is reported.
    await Promise.race([new Promise((r) => child.once('close', r)), sleep(1_000)]);
    if (stopping) return;
    say(`${name} exited (${describeExit(code, sig)}) and stays stopped: ${reason}; a restart cannot help.`);
    if (entry.tail.length > 0) {
      say(`its last lines (all of them in ${log}):`);
      for (const line of entry.tail) console.log(`  ${name} │ ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`);
    }
    say(`fix that, then Ctrl-C and \`npm start\` again; the rest of the stack keeps running without ${name}`);
    return;
  }
  entry.delayMs = restartDelay(entry.delayMs, Date.now() - entry.startedAt);
  entry.restarts += 1;
  say(
    `${name} exited (${describeExit(code, sig)}); restarting in ${entry.delayMs / 1000} s ` +
      `(restart ${entry.restarts}; log: ${log})`,
  );
  entry.timer = setTimeout(() => {
    if (!stopping) spawnChild(entry);
  }, entry.delayMs);
}
