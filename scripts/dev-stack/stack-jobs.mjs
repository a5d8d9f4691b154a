// The jobs file a stack's services read: a copy of examples/jobs.yaml in the state dir with this stack's ports.
// The jobs file has no `${env:…}`; its demo `api-ping` calls the reports service at http://127.0.0.1:8081, which
// in docker-compose and Kubernetes is always the reports process itself (it runs the job). In `npm start` the
// reports service is elsewhere when 8081 was busy, and 8081 may be another stack's: the copy points such URLs at
// this stack's ports. It follows every edit of the source (the services reload it as they reload the source).
import { existsSync, readFileSync, renameSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The port each service takes when it is free (and that a jobs file written for one machine would name). */
export const USUAL_PORTS = { scheduler: 8080, reports: 8081, notifier: 8082, secrets: 8083, webhooks: 8084 };

const LOOPBACK_URL = /\b(https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\])):(\d+)(?!\d)/g;
const PATH_END = `[^\\s"'#,\\]}]+`;
const MODULE_REF = new RegExp(`\\bmodule:(${PATH_END})`, 'g');
const CWD = new RegExp(`(\\bcwd:[ \\t]*)(["']?)(${PATH_END})\\2`, 'g');

/**
 * The copy's text: loopback URLs on a service's usual port go to the port it has in this stack (`moved`: usual
 * port → port), and relative `module:` and `cwd:` paths become absolute (they resolve from the jobs file's folder,
 * and the copy lives in another one). Line for line the source, so the line numbers in the services' messages
 * about it are those of the source; a closing comment says what it is.
 */
export function stackJobsText(text, { sourceFile, moved }) {
  const dir = path.dirname(sourceFile);
  const absolute = (p) => (path.isAbsolute(p) ? p : path.resolve(dir, p));
  const out = text
    .replace(LOOPBACK_URL, (url, origin, port) =>
      moved.has(Number(port)) ? `${origin}:${moved.get(Number(port))}` : url,
    )
    .replace(MODULE_REF, (_, ref) => `module:${absolute(ref)}`)
    .replace(CWD, (_, key, quote, p) => `${key}${quote}${absolute(p)}${quote}`);
  return (
    `${out}${out.endsWith('\n') ? '' : '\n'}` +
    `# Written by \`npm start\` from ${sourceFile} (edit that file: this copy follows it), with this stack's\n` +
    `# ports in URLs to 127.0.0.1:${Object.values(USUAL_PORTS).join('/')} and absolute module:/cwd: paths.\n`
  );
}

/** Usual port → this stack's port, for the services not on their usual one. */
export function movedPorts(servicePorts) {
  const moved = new Map();
  for (const [name, port] of Object.entries(servicePorts)) {
    const usual = USUAL_PORTS[name];
    if (usual !== undefined && port !== undefined && port !== usual) moved.set(usual, port);
  }
  return moved;
}

/**
 * Writes the copy (atomically, and only when it changes: every write makes the services reload). Returns the file
 * to give the services: the copy, or the source itself when it cannot be read (the services then say why).
 */
export function writeStackJobs(sourceFile, targetFile, servicePorts) {
  let text;
  try {
    text = readFileSync(sourceFile, 'utf8');
  } catch {
    return sourceFile;
  }
  const next = stackJobsText(text, { sourceFile, moved: movedPorts(servicePorts) });
  if (existsSync(targetFile) && readFileSync(targetFile, 'utf8') === next) return targetFile;
  const tmp = `${targetFile}.${process.pid}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, targetFile);
  return targetFile;
}

/** Calls onChange (debounced) when the source changes; a watch that cannot start is left out (edits then wait for a restart). */
export function watchSource(sourceFile, onChange) {
  const base = path.basename(sourceFile);
  let timer;
  try {
    const watcher = watch(path.dirname(sourceFile), (_event, name) => {
      if (name !== null && name !== base) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, 200);
    });
    watcher.on('error', () => {});
    watcher.unref();
    return watcher;
  } catch {
    return undefined;
  }
}
