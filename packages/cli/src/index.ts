// The `vigil` command (contract §7). bin/vigil.mjs calls main(); tests call it in-process.
export { main, type MainOptions } from './program.js';
export { cliEnv, type CliEnv } from './config.js';
export type { Io } from './context.js';
export { EXIT } from './errors.js';
