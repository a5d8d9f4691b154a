#!/usr/bin/env node
// Runs every bench/*.bench.mjs (each exports `run()` returning result rows), prints one table and writes
// bench/results.json: [{ name, unit, ours, peerName?, peer?, ratio? }]. Speed is reported, never asserted.
// `node bench/run.mjs runner` runs the files whose name contains `runner`; their rows replace the same rows in
// results.json and the other benchmarks' rows stay.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const results = [];
for (const file of files) {
  console.log(`\n▶ ${file}`);
  try {
    const mod = await import(pathToFileURL(path.join(here, file)).href);
    const rows = await mod.run();
    for (const row of rows) {
      if (row.peer !== undefined && row.ratio === undefined) {
        // Higher is better for throughput (ours ÷ peer); for latencies the row gives its own ratio.
        row.ratio = Number((row.ours / row.peer).toFixed(3));
      }
      results.push(row);
    }
  } catch (err) {
    console.error(`  ${file} failed: ${err?.stack ?? err}`);
    process.exitCode = 1;
  }
}

const fmt = (n) =>
  n === undefined ? '' : typeof n === 'number' ? n.toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(n);
console.log('\nname'.padEnd(40) + 'unit'.padEnd(14) + 'ours'.padStart(14) + '  peer'.padEnd(30) + 'ratio'.padStart(10));
for (const r of results) {
  console.log(
    r.name.padEnd(39) +
      String(r.unit).padEnd(14) +
      fmt(r.ours).padStart(14) +
      `  ${r.peerName ? `${r.peerName}: ${fmt(r.peer)}` : ''}`.padEnd(30) +
      fmt(r.ratio).padStart(10),
  );
}
const out = path.join(here, 'results.json');
const fresh = new Set(results.map((r) => r.name));
const kept = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')).filter((r) => !fresh.has(r.name)) : [];
const merged = [...kept, ...results].sort((a, b) => a.name.localeCompare(b.name));
writeFileSync(out, `${JSON.stringify(merged, null, 2)}\n`);
console.log(`\nwrote bench/results.json (${results.length} rows from this run, ${kept.length} kept)`);
