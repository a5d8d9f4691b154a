// pids.json: what a later `npm start` reads after a crash of this one to stop exactly this run's processes
// (stale.mjs). It must list every child from the moment it is spawned until it is gone, restarts included.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { pidsFile } from './paths.mjs';
import { identity } from './processes.mjs';

const record = { devStack: { pid: process.pid, id: identity(process.pid) }, children: [] };

/** Atomic, so a crash mid-write never leaves a record the next run cannot read. */
export function saveRecord() {
  const tmp = `${pidsFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(tmp, pidsFile);
}

export function recordChild(child) {
  record.children.push(child);
  saveRecord();
}

/** Drops a gone child; written only when asked (while stopping, the final state is written once at the end). */
export function forgetChild(pid, { save }) {
  record.children = record.children.filter((c) => c.pid !== pid);
  if (save) saveRecord();
}

/** The end of a run: no file when nothing is left, else exactly what is left, for the next run to stop. */
export function finishRecord(left) {
  if (left.length === 0) {
    rmSync(pidsFile, { force: true });
    return;
  }
  record.children = left.map((p) => ({ name: p.name, pid: p.pid, id: identity(p.pid) }));
  saveRecord();
}
