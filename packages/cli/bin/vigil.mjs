#!/usr/bin/env node
// The `vigil` command: see packages/cli/README.md. Built code lives in ../dist (pnpm build).
import { main } from '../dist/index.js';

process.exitCode = await main(process.argv.slice(2));
