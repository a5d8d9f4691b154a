// Starts the stack's children and brings back one that exits while the stack is not stopping, with the same
// command, environment, working directory and port (infra keeps its data dir, so JetStream and Redis state
// survive). Every child runs in its own process group, so the terminal's Ctrl-C reaches only this script,
// which then signals each child exactly once (shutdown.mjs).
//
// A port is chosen free before the child starts, but another program (another `npm start`) can bind it first. The
// child then says "address in use" and exits: with an `onPortTaken` handler it is started again at once on the
// port that handler gives it (a restart on the same port would fail forever). Until a child has said it listens on
// its port (`listening`), nobody may take an answer on that port for its own (ownsPort).
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { logFile, root, shown } from './paths.mjs';
import { takenPort } from './ports.mjs';
import { INFRA, identity, MARK, runMark } from './processes.mjs';
import { forgetChild, recordChild } from './record.mjs';
import { describeExit, finalExitReason, restartDelay, STABLE_AFTER_MS } from './restart-policy.mjs';
import { say, sleep } from './util.mjs';

/** Lines of a child's own output kept to explain why it stays stopped. */
const TAIL_LINES = 8;
/** Port moves in a row (without a run of a minute between them) before a child gets the usual backoff instead. */
const MAX_MOVES = 10;

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

/**
 * Whether the entry's current process holds its port: it runs, has not said its port is in use elsewhere, and
 * has said it listens on it (or, for a child whose output may not say so, has run `settleMs` without a complaint).
 * A process listening on a port keeps it until it exits, so an answer on the port between two true results of
 * this for the same process is that process's answer, not another program's.
 */
export function ownsPort(entry) {
  if (!running(entry) || entry.portTaken !== undefined) return false;
  return entry.listening || Date.now() - entry.startedAt >= (entry.settleMs ?? Number.POSITIVE_INFINITY);
}

/**
 * Options: env, cwd, port (recorded in pids.json), ports (every port it binds, default [port]), listening(line,
 * entry) (true for the output line that says it listens on its port), settleMs (see ownsPort), onPortTaken(entry,
 * port) (moves the entry to another port: updates port, ports, args/env; resolves false when it cannot),
 * afterMove(entry, oldPort) (once it is started on the new port: what else follows it, e.g. restarts of others).
 */
export function start(
  name,
  command,
  args,
  { env = {}, cwd = root, port, ports, listening, settleMs, onPortTaken, afterMove } = {},
) {
  if (stopping) return undefined;
  const entry = {
    name,
    command,
    args,
    env,
    cwd,
    port,
    ports: ports ?? [port],
    listeningLine: listening,
    settleMs,
    onPortTaken,
    afterMove,
    infra: INFRA.has(name),
    log: createWriteStream(logFile(name), { flags: 'a' }),
    restarts: 0,
    moves: 0,
    delayMs: undefined,
  };
  children.push(entry);
  spawnChild(entry);
  return entry;
}

/**
 * Stops the entry's process and starts it again at once (with its current args and env, e.g. a new URL of
 * another child); not counted as a crash. A child waiting out a backoff gets the new settings when it starts.
 */
export function restartNow(entry, why) {
  if (stopping || !entry || entry.stayedStopped || !running(entry)) return;
  entry.restartRequested = why;
  say(`restarting ${entry.name}: ${why}`);
  entry.child.kill('SIGTERM');
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
  entry.portTaken = undefined;
  entry.listening = false;
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
  const onLine = (line) => {
    if (!line.trim()) return;
    if (entry.child === child) {
      entry.tail.push(line);
      if (entry.tail.length > TAIL_LINES) entry.tail.shift();
      // Once it listens, the port is its own: a later "address in use" is about something else.
      if (!entry.listening && entry.portTaken === undefined) entry.portTaken = takenPort(line, entry.ports);
      if (!entry.listening && entry.portTaken === undefined && entry.listeningLine?.(line, entry)) {
        entry.listening = true;
      }
    }
    if (process.env.VIGIL_QUIET !== '1') process.stdout.write(`${prefix + line}\n`);
  };
  // Whole lines only: a line split across two reads would otherwise be printed, and matched, as two.
  const relay = (stream) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      entry.log.write(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) onLine(line);
    });
    stream.on('end', () => {
      if (partial) onLine(partial);
      partial = '';
    });
  };
  relay(child.stdout);
  relay(child.stderr);
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
  if (entry.restartRequested) {
    entry.restartRequested = undefined;
    spawnChild(entry);
    return;
  }
  const log = shown(logFile(name));
  // Its last words (why it stops, "address in use"…) may still be in the pipe when the exit is reported.
  await Promise.race([new Promise((r) => child.once('close', r)), sleep(1_000)]);
  if (stopping) return;
  const reason = finalExitReason(code, sig);
  if (reason) {
    entry.stayedStopped = true;
    say(`${name} exited (${describeExit(code, sig)}) and stays stopped: ${reason}; a restart cannot help.`);
    if (entry.tail.length > 0) {
      say(`its last lines (all of them in ${log}):`);
      for (const line of entry.tail) console.log(`  ${name} │ ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`);
    }
    say(`fix that, then Ctrl-C and \`npm start\` again; the rest of the stack keeps running without ${name}`);
    return;
  }
  const ranMs = Date.now() - entry.startedAt;
  if (ranMs >= STABLE_AFTER_MS) entry.moves = 0;
  const taken = entry.portTaken;
  if (taken !== undefined) {
    const moved = entry.onPortTaken && entry.moves < MAX_MOVES ? await entry.onPortTaken(entry, taken) : false;
    if (stopping) return;
    if (moved) {
      entry.moves += 1;
      say(`${name}: port ${taken} is taken by another process (not this stack's); starting it on port ${entry.port}`);
      spawnChild(entry);
      entry.afterMove?.(entry, taken);
      return;
    }
    say(
      `${name}: port ${taken} is taken by another process (not this stack's); free it, or Ctrl-C and \`npm start\` again`,
    );
  }
  entry.delayMs = restartDelay(entry.delayMs, ranMs);
  entry.restarts += 1;
  say(
    `${name} exited (${describeExit(code, sig)}); restarting in ${entry.delayMs / 1000} s ` +
      `(restart ${entry.restarts}; log: ${log})`,
  );
  entry.timer = setTimeout(() => {
    if (!stopping) spawnChild(entry);
  }, entry.delayMs);
}
