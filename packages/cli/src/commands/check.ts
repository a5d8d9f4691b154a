import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type JobDefinition, loadJobsFile, VigilError } from '@vigil/shared';
import type { CommandContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { ms, table } from '../format.js';

/** How long one module's top-level code may take to load before `vigil check` calls it stuck. */
export const MODULE_LOAD_TIMEOUT_MS = 10_000;
/** Modules loaded at once (each in its own node process). */
const LOAD_CONCURRENCY = 4;

/** The file a `module:<path>` handler names, resolved as the runner does: relative to the jobs file's folder. */
function moduleFile(handler: string, baseDir: string): string | undefined {
  if (!handler.startsWith('module:')) return undefined;
  return path.resolve(baseDir, handler.slice('module:'.length).trim());
}

/** A `module:` file that is not there (or not a file): the runner would fail every run of the job. */
function fileProblem(file: string): string | undefined {
  if (!existsSync(file)) return `${file} does not exist (a module: path is relative to the jobs file)`;
  if (!statSync(file).isFile()) return `${file} is not a file`;
  return undefined;
}

/**
 * Runs in a node process of its own (argv[1]: the module file): imports the module as the runner does, checks the
 * default export's shape like the runner's `isHandler` (plus a `validate` that is not a function, which the runner
 * would fail calling), writes one JSON line to fd 3 and exits, whatever timers the module's top-level code left.
 * Neither `validate` nor `run` is called. A SyntaxError is left uncaught: node then prints its file and line.
 */
const PROBE = `
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const say = (r) => { writeSync(3, JSON.stringify(r) + '\\n'); process.exit(0); };
const kind = (v) => v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'function' ? 'a function'
  : typeof v === 'object' ? 'an object' : 'a ' + typeof v;
let mod;
try {
  mod = await import(pathToFileURL(process.argv[1]).href);
} catch (err) {
  if (err instanceof SyntaxError) throw err;
  say({ error: err instanceof Error ? err.name + ': ' + err.message : 'threw ' + String(err) });
}
const d = mod.default;
if (d === undefined) {
  const names = Object.keys(mod).filter((k) => k !== 'default');
  say({ shape: 'there is no default export' + (names.length ? ' (it exports ' + names.join(', ') + ')' : '') });
}
if (typeof d !== 'object' || d === null) say({ shape: 'the default export is ' + kind(d) });
if (typeof d.run !== 'function')
  say({ shape: d.run === undefined ? 'the default export has no run function' : 'its run is ' + kind(d.run) + ', not a function' });
if (d.validate && typeof d.validate !== 'function') say({ shape: 'its validate is ' + kind(d.validate) + ', not a function' });
say({ ok: true });
`;

interface ProbeResult {
  ok?: true;
  error?: string;
  shape?: string;
}

/** The problem of a module that exists: it does not load, loads too slowly, or its default export is no handler. */
function loadProblem(file: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE, file], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let timedOut = false;
    let exitCode: number | null = null;
    let done = false;
    (child.stdio[3] as Readable).setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) finish();
    });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < 64_000) stderr += s;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      finish();
    }, MODULE_LOAD_TIMEOUT_MS);
    child.on('error', (err) => {
      done = true;
      clearTimeout(timer);
      resolve(`${file} was not loaded: cannot start ${process.execPath}: ${err.message}`);
    });
    child.on('close', () => finish());
    // A process the module started may hold the pipes open after the probe is gone: do not wait on it for long.
    child.on('exit', (code) => {
      exitCode = code;
      setTimeout(finish, 1_000).unref();
    });

    function finish() {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(judge());
    }

    function judge(): string | undefined {
      const line = out.split('\n')[0];
      if (line) {
        let r: ProbeResult = {};
        try {
          r = JSON.parse(line) as ProbeResult;
        } catch {
          // its top-level code wrote to fd 3: judged by how it ended, below
        }
        if (r.ok) return undefined;
        if (r.error !== undefined) return `${file} does not load: ${r.error}`;
        if (r.shape !== undefined)
          return `${file}: default export must be defineHandler({ validate?, run }): ${r.shape}`;
      }
      if (timedOut)
        return `${file} does not load: its top-level code did not finish within ${MODULE_LOAD_TIMEOUT_MS / 1000}s`;
      return `${file} does not load: ${uncaught(stderr) ?? `node exited with code ${exitCode} while loading it`}`;
    }
  });
}

/** `SyntaxError: … (at <file>:<line>)` from what node prints for an uncaught error, if it printed one. */
function uncaught(stderr: string): string | undefined {
  const error = /^([A-Za-z]*Error)(?: \[\w+\])?: (.*)$/m.exec(stderr);
  if (!error) return stderr.trim().split('\n').pop() || undefined;
  const at = /^(\S+):(\d+)$/m.exec(stderr.slice(0, error.index));
  let where = '';
  if (at) {
    let f = at[1];
    if (f.startsWith('file://')) {
      try {
        f = fileURLToPath(f);
      } catch {
        // keep the URL
      }
    }
    where = ` (at ${f}:${at[2]})`;
  }
  return `${error[1]}: ${error[2]}${where}`;
}

/** Every module's problem (undefined: it loads and is a handler), LOAD_CONCURRENCY at a time. */
async function loadAll(files: string[]): Promise<Map<string, string | undefined>> {
  const problems = new Map<string, string | undefined>();
  const queue = [...files];
  const worker = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) problems.set(f, await loadProblem(f));
  };
  await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, files.length) }, worker));
  return problems;
}

/**
 * `vigil check [file]`: the jobs file judged by the same parser the services use, without NATS, so a change can be
 * checked before it is deployed (a service refuses to start on a file that fails here, exit 78). Every problem is
 * printed on its own line with its line and column. `module:` handlers are loaded as the runner loads them (their
 * top-level code runs, each in a node process of its own; `validate` and `run` are not called): one that is missing,
 * does not load or exports no handler is a problem of its job. `chosen`: how the file was picked when none was given
 * (said when it is not there).
 */
export async function checkCommand(ctx: CommandContext, file: string, chosen?: string): Promise<void> {
  if (!existsSync(file)) {
    const why = chosen ? ` (${chosen}; usage: vigil check <file>)` : '';
    throw new CliError(`jobs file ${path.resolve(file)} does not exist${why}`, EXIT.USAGE);
  }
  const baseDir = path.dirname(path.resolve(file));
  // First the module files the jobs name (a pass that only collects them), then every one loaded at once, then the
  // file judged with their problems, so one listing says everything.
  const modules = new Set<string>();
  await loadJobsFile(file, {
    handlerProblem: (h) => {
      const m = moduleFile(h, baseDir);
      if (m && !fileProblem(m)) modules.add(m);
      return undefined;
    },
  }).catch(() => undefined);
  const loaded = await loadAll([...modules]);
  let jobs: JobDefinition[];
  try {
    const handlerProblem = (h: string) => {
      const m = moduleFile(h, baseDir);
      return m === undefined ? undefined : (fileProblem(m) ?? loaded.get(m));
    };
    jobs = Object.values((await loadJobsFile(file, { handlerProblem })).jobs);
  } catch (err) {
    if (err instanceof VigilError) throw new CliError(err.message, EXIT.FAILURE, err.code);
    throw err;
  }
  const rows = jobs.map((j) => ({
    name: j.name,
    handler: j.handler,
    schedule: j.schedule ?? (j.every ? `every ${ms(j.every)}` : 'manual'),
    timezone: j.timezone,
    targets: Array.isArray(j.targets) ? j.targets.length : j.targets ? `secret ${j.targets.secret}` : undefined,
  }));
  const loadedNote = modules.size ? `, ${modules.size} handler module${modules.size === 1 ? '' : 's'} loaded` : '';
  ctx.print({ file, valid: true, jobs: rows }, () =>
    [
      `${file}: valid, ${rows.length} job${rows.length === 1 ? '' : 's'}${loadedNote}`,
      table(
        ['JOB', 'HANDLER', 'SCHEDULE', 'TZ', 'TARGETS'],
        rows.map((r) => [r.name, r.handler, r.schedule, r.timezone, r.targets]),
      ),
    ].join('\n'),
  );
}
