// Is an `npm start` running this stack (this VIGIL_STATE_DIR) already? Asked by the bootstrap before it installs
// and builds (a second `npm start` must not rebuild the dist/ a running stack executes) and again by the dev stack
// itself (two starts at once both pass the bootstrap's check).
import { readFileSync } from 'node:fs';
import { isDefaultState, pidsFile, shown, state } from './paths.mjs';
import { identity } from './processes.mjs';

/** This stack's pids.json, or undefined (none, or unreadable). */
export function readRecord(file = pidsFile) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The `npm start` process named by the record when it is still that same process (pid + start time), and not self. */
export function runningOwner(record, self = process.pid) {
  const owner = record?.devStack;
  if (!owner || !Number.isInteger(owner.pid) || owner.pid === self) return undefined;
  return owner.id !== undefined && identity(owner.pid) === owner.id ? { pid: owner.pid } : undefined;
}

/** Exits 1, saying so, when another `npm start` runs this stack. */
export function refuseIfRunning(record = readRecord()) {
  const owner = runningOwner(record);
  if (!owner) return;
  const which = isDefaultState ? 'this stack' : `the stack in ${shown(state)}`;
  console.error(
    `\n[vigil] another \`npm start\` (pid ${owner.pid}) is running ${which}; stop it first ` +
      `(Ctrl-C in its terminal, or kill ${owner.pid}).\n`,
  );
  process.exit(1);
}
