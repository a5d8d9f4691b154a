#!/usr/bin/env node
// The `vigil` command: see packages/cli/README.md. Built code lives in ../dist (pnpm build).
import { main } from '../dist/index.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit once the output is written, whatever is still open: a broker that accepts TCP but never answers (a frozen or
// SIGSTOPped nats-server) leaves the socket of nats.js's timed-out connect attempt open, and that alone would keep
// the CLI alive forever after it printed `cannot reach NATS` (`vigil health` from cron hanging exactly when the
// broker hangs). stdout/stderr to a pipe are written asynchronously: wait for them, at most 2 s, then exit.
const written = (stream) => new Promise((resolve) => stream.write('', resolve));
setTimeout(() => process.exit(code), 2_000).unref();
await Promise.all([written(process.stdout), written(process.stderr)]);
process.exit(code);
