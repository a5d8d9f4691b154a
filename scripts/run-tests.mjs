#!/usr/bin/env node
// Runs every test file with vitest, checks that no test server outlived the run, and ends with the
// plain summary line CI reads: "tests: N passed, N failed, N skipped".
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = mkdtempSync(path.join(tmpdir(), 'vigil-results-'));
const jsonFile = path.join(outDir, 'vitest.json');
const vitest = path.join(root, 'node_modules', '.bin', 'vitest');
const runTag = `r${process.pid}${Date.now().toString(36)}`;

const r = spawnSync(
  vitest,
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${jsonFile}`, ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: root, env: { ...process.env, CI: process.env.CI ?? 'true', VIGIL_TEST_RUN: runTag } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const report = JSON.parse(readFileSync(jsonFile, 'utf8'));
  passed = report.numPassedTests;
  failed = report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
  skipped = report.numPendingTests + report.numTodoTests;
  if (!report.success && failed === 0) failed = 1;
} catch {
  failed = Math.max(failed, 1);
}
rmSync(outDir, { recursive: true, force: true });

// A server the test kit started and nobody stopped is a leak: report it, then clean up.
let leaked = '';
try {
  leaked = execFileSync('pgrep', ['-af', `vigil-test-${runTag}-`], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l && /nats-server|redis-server/.test(l))
    .join('\n');
} catch {
  // pgrep exits 1 when nothing matches
}
if (leaked) {
  console.error(`\nleaked test servers after the run:\n${leaked}`);
  spawnSync('pkill', ['-9', '-f', `vigil-test-${runTag}-`]);
  failed += 1;
}

console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(r.status !== 0 || failed > 0 ? 1 : 0);
