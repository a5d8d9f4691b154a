// How the developer (banner) and the alert emails (ALERT_CLI, the notifier's re-run lines) call the vigil CLI so
// that it reaches this stack: the CLI finds `.vigil/env` by itself, but a stack in another VIGIL_STATE_DIR only
// when that variable is set; without it a pasted line would reach the default stack.
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { shellWord } from './util.mjs';

/** The services' rule for ALERT_CLI (alertCliSchema, packages/shared/src/config/schemas.ts): a plain command, no `VAR=value`. */
export const ALERT_CLI_PATTERN = /^[A-Za-z0-9_./@ -]{1,64}$/;

/**
 * `shell`: the command line to type in the checkout (`VIGIL_STATE_DIR=/tmp/x npx vigil` for another state dir).
 * `wrapper`: for another state dir, a script in it that runs the CLI against this stack from any directory.
 * `alert`: what the notifier puts in re-run lines: it allows no `VAR=value`, so the wrapper (undefined when the
 * wrapper's path does not pass the notifier's rule).
 */
export function cliCommands({ state, isDefaultState }) {
  if (isDefaultState) return { shell: 'npx vigil', alert: 'npx vigil' };
  const wrapper = path.join(state, 'vigil');
  return {
    shell: `VIGIL_STATE_DIR=${shellWord(state)} npx vigil`,
    wrapper,
    alert: ALERT_CLI_PATTERN.test(wrapper) ? wrapper : undefined,
  };
}

/** The wrapper script's text: the checkout's CLI with VIGIL_STATE_DIR set to the stack's state dir. */
export function wrapperScript({ state, root, wrapper }) {
  return [
    '#!/bin/sh',
    `# Written by \`npm start\`: the vigil CLI of ${root}, talking to the stack whose state is in this folder.`,
    // VIGIL_CLI: the commands the CLI prints to paste name this wrapper, not a bare `vigil` (not on the PATH).
    `VIGIL_STATE_DIR=${shellWord(state)} VIGIL_CLI=${shellWord(wrapper)} exec ${shellWord(path.join(root, 'node_modules', '.bin', 'vigil'))} "$@"`,
    '',
  ].join('\n');
}

export function writeWrapper({ state, root, wrapper }) {
  const tmp = `${wrapper}.${process.pid}.tmp`;
  writeFileSync(tmp, wrapperScript({ state, root, wrapper }));
  chmodSync(tmp, 0o755);
  renameSync(tmp, wrapper);
}
