// Where the dev stack keeps its state. VIGIL_STATE_DIR moves all of it (a test's stack must not touch the pids,
// logs and stores of a developer's `npm start` in the same checkout); the bootstrap's tools stay in .vigil/tools.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const defaultState = path.join(root, '.vigil');
export const state = process.env.VIGIL_STATE_DIR ? path.resolve(process.env.VIGIL_STATE_DIR) : defaultState;
export const isDefaultState = state === defaultState;
export const logDir = path.join(state, 'logs');
export const pidsFile = path.join(state, 'pids.json');
/** Pid files of earlier versions of this script. */
export const legacyRunDir = path.join(state, 'run');
export const natsDir = path.join(state, 'nats');
export const redisDir = path.join(state, 'redis');
export const mailDir = path.join(state, 'mail');

for (const d of [state, logDir, natsDir, redisDir, mailDir]) mkdirSync(d, { recursive: true });

/** A path as the console shows it: `.vigil/logs/x.log` inside the checkout (what users type), absolute outside. */
export function shown(p) {
  const rel = path.relative(root, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

export const logFile = (name) => path.join(logDir, `${name}.log`);
