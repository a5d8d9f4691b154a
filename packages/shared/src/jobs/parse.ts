import { type Document, isMap, isScalar, LineCounter, parseDocument, visit, type YAMLError } from 'yaml';
import { ErrorCode } from '../errors/codes.js';
import { errorMessage } from '../errors/error-message.js';
import { ValidationError } from '../errors/vigil-error.js';
import { DEFAULT_RETRIES, DEFAULT_TIMEZONE, optionsKeyFor } from './defaults.js';
import { formatPath, locate } from './locate.js';
import { jobSchema, type RawJob } from './schema.js';
import type { JobDefinition, JobsFile, JobsFileProblem } from './types.js';
import { type CheckedJob, isValidTimezone, jobNameProblem, jobRuleProblems } from './validate.js';

type PathKey = string | number;
type Issue = { path: PropertyKey[]; message: string; code?: string; keys?: string[] };

/** Alias uses allowed when resolving the file (guards against "billion laughs" expansion, not against many jobs). */
const MAX_ALIAS_COUNT = 10_000;

/**
 * The contract writes `retries: { max: 3, base: 5s, max: 5m }`: the count and the cap share a key. A `max`
 * with a unit is the cap, so that spelling works; `cap:` is the unambiguous one.
 */
function renameRetryCaps(doc: Document): void {
  const jobs = doc.get('jobs', true);
  if (!isMap(jobs)) return;
  for (const pair of jobs.items) {
    const retries = isMap(pair.value) ? pair.value.get('retries', true) : undefined;
    if (!isMap(retries)) continue;
    for (const p of retries.items) {
      if (isScalar(p.key) && p.key.value === 'max' && isScalar(p.value) && typeof p.value.value === 'string') {
        if (!/^\d+$/.test(p.value.value.trim())) p.key.value = 'cap';
      }
    }
  }
}

function duplicateKeyProblems(doc: Document, counter: LineCounter): JobsFileProblem[] {
  const out: JobsFileProblem[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const p of map.items) {
        if (!isScalar(p.key)) continue;
        const k = String(p.key.value);
        if (seen.has(k)) {
          const pos = counter.linePos(p.key.range?.[0] ?? 0);
          out.push({ line: pos.line, column: pos.col, path: k, message: `duplicate key "${k}"` });
        }
        seen.add(k);
      }
    },
  });
  return out;
}

/**
 * A YAML syntax error where it is: yaml gives `linePos` only with `prettyErrors` (whose messages carry a code
 * excerpt), so the line and column come from its offset. An unclosed `[` or `{` is reported where it opens: yaml
 * notices it where the collection should have ended (the next key, the end of the file), which is not where to look.
 */
function syntaxProblem(doc: Document, text: string, counter: LineCounter, e: YAMLError): JobsFileProblem {
  let message = e.message.split('\n')[0];
  let offset = e.pos?.[0] ?? 0;
  const closer = /end with an? ([\]}])/.exec(message)?.[1];
  const opened = closer ? unclosedFlowStart(doc, text, closer === ']' ? '[' : '{', offset) : undefined;
  if (opened !== undefined) {
    message = `"${closer === ']' ? '[' : '{'}" is never closed: ${message}`;
    offset = opened;
  }
  // an offset in a line's indentation (a bad indent) means the item it indents: its first character
  let at = offset;
  while (text[at] === ' ' || text[at] === '\t') at++;
  if (at > offset && at < text.length && text[at] !== '\n' && text[at] !== '\r') offset = at;
  const pos = counter.linePos(offset);
  return { line: pos.line, column: pos.col, path: '', message };
}

/** Where the innermost flow collection opened by `open` that reaches `offset` without its closing bracket starts. */
function unclosedFlowStart(doc: Document, text: string, open: '[' | '{', offset: number): number | undefined {
  const close = open === '[' ? ']' : '}';
  let found: number | undefined;
  const check = (node: { flow?: boolean; range?: [number, number, number] | null }) => {
    const r = node.range;
    if (!node.flow || !r || r[0] > offset || text[r[0]] !== open) return;
    if (text.slice(r[0], r[1]).trimEnd().endsWith(close)) return;
    if (found === undefined || r[0] > found) found = r[0];
  };
  visit(doc, { Map: (_k, node) => check(node), Seq: (_k, node) => check(node) });
  return found;
}

/** The job with `handler` optional: what is left of a job once its badly shaped parts are cut away. */
const partialJobSchema = jobSchema.partial();

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The value at `path`, or undefined. */
function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let node = root;
  for (const k of path)
    node = isRecord(node) || Array.isArray(node) ? (node as Record<PathKey, unknown>)[k] : undefined;
  return node;
}

/**
 * The mapping entry to cut for an issue at `path`: the value itself, or when it is not there (a required key that
 * is missing) or sits in a list, the nearest enclosing mapping entry. Undefined when that would be the job itself.
 */
function entryToCut(root: Record<string, unknown>, path: readonly PathKey[]): PathKey[] | undefined {
  for (let end = path.length; end > 0; end--) {
    const parent = valueAt(root, path.slice(0, end - 1));
    if (isRecord(parent) && Object.hasOwn(parent, String(path[end - 1]))) return path.slice(0, end);
  }
  return undefined;
}

/**
 * The well-shaped part of a job that failed its shape check: every part zod complains about is cut away (a
 * whole entry when a required key inside it is missing) until the rest passes. The rules then run on what is
 * left, so one unknown key or bad duration does not hide the job's unknown handler or bad cron. Undefined when
 * the job is not a mapping at all.
 */
function wellShapedPart(value: unknown): CheckedJob | undefined {
  if (!isRecord(value)) return undefined;
  const copy = structuredClone(value);
  // each round cuts at least one entry, so this ends; the bound is only a guard
  for (let round = 0; round < 1_000; round++) {
    const parsed = partialJobSchema.safeParse(copy);
    if (parsed.success) return parsed.data;
    const targets: PathKey[][] = [];
    for (const issue of parsed.error.issues as unknown as Issue[]) {
      const path = issue.path as PathKey[];
      const paths = issue.code === 'unrecognized_keys' && issue.keys ? issue.keys.map((k) => [...path, k]) : [path];
      for (const p of paths) {
        const target = entryToCut(copy, p);
        if (target) targets.push(target);
      }
    }
    if (targets.length === 0) return undefined;
    for (const target of targets) {
      const parent = valueAt(copy, target.slice(0, -1));
      if (isRecord(parent)) delete parent[String(target[target.length - 1])];
    }
  }
  return undefined;
}

/** The document as plain data, or why it cannot be resolved (e.g. an alias expansion over the limit). */
function toPlain(doc: Document): { raw: unknown } | { error: string } {
  try {
    // yaml's default limit (100) counts every use of an anchor: one anchor shared by many jobs is legitimate
    return { raw: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    return { error: `cannot resolve the YAML: ${errorMessage(err)}` };
  }
}

function toDefinition(name: string, job: RawJob, fileTimezone: string): JobDefinition {
  const optionsKey = optionsKeyFor(job.handler) as 'http' | 'command' | 'report' | 'health' | 'module';
  const def: JobDefinition = {
    name,
    timezone: job.timezone ?? fileTimezone,
    handler: job.handler,
    retries: {
      max: job.retries?.max ?? DEFAULT_RETRIES.max,
      backoff: job.retries?.backoff ?? DEFAULT_RETRIES.backoff,
      base: job.retries?.base ?? DEFAULT_RETRIES.base,
      cap: job.retries?.cap ?? DEFAULT_RETRIES.cap,
    },
    concurrency: job.concurrency ?? 'forbid',
    options: (job[optionsKey] as Record<string, unknown> | undefined) ?? {},
  };
  const optional = [
    'description',
    'schedule',
    'every',
    'targets',
    'timeout',
    'startDeadline',
    'backup',
    'catchUp',
    'alerts',
  ] as const;
  for (const key of optional) {
    if (job[key] !== undefined) (def as unknown as Record<string, unknown>)[key] = job[key];
  }
  return def;
}

export interface ParseJobsOptions {
  /**
   * A check of each job's handler beyond its name (e.g. `vigil check`: does a `module:` file exist?); a message is
   * reported at the handler's line with the file's other problems.
   */
  handlerProblem?: (handler: string) => string | undefined;
}

/** Parses and validates a jobs file; throws one ValidationError (JOBS_FILE_INVALID) listing every problem with its line. */
export function parseJobsFile(text: string, fileName = 'jobs.yaml', opts: ParseJobsOptions = {}): JobsFile {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: false, prettyErrors: false });
  const problems: JobsFileProblem[] = [];
  const add = (path: PathKey[], message: string, atKey = false) => {
    const { line, column } = locate(doc, counter, path, atKey);
    problems.push({ line, column, path: formatPath(path), message });
  };
  const addIssues = (base: PathKey[], issues: Issue[]) => {
    for (const issue of issues) {
      const path = [...base, ...(issue.path as PathKey[])];
      if (issue.code === 'unrecognized_keys' && issue.keys) {
        for (const k of issue.keys) add([...path, k], `unknown key "${k}"`, true);
      } else add(path, issue.message);
    }
  };

  for (const e of doc.errors) problems.push(syntaxProblem(doc, text, counter, e));
  if (problems.length === 0) {
    renameRetryCaps(doc);
    problems.push(...duplicateKeyProblems(doc, counter));
  }
  // no prototype: a lookup by name (`jobs[name]`) must never find `constructor`, `toString`...
  const jobs: Record<string, JobDefinition> = Object.create(null);
  let timezone = DEFAULT_TIMEZONE;
  if (problems.length === 0) {
    const resolved = toPlain(doc);
    if ('error' in resolved) add([], resolved.error);
    else if (resolved.raw === null || typeof resolved.raw !== 'object' || Array.isArray(resolved.raw)) {
      add([], 'a jobs file is a mapping with `jobs:` (and optionally `timezone:`)');
    } else {
      const top = resolved.raw as Record<string, unknown>;
      for (const key of Object.keys(top)) {
        if (key !== 'timezone' && key !== 'jobs') add([key], `unknown key "${key}"`, true);
      }
      if (top.timezone !== undefined) {
        if (typeof top.timezone !== 'string' || !isValidTimezone(top.timezone)) {
          add(['timezone'], `unknown time zone "${String(top.timezone)}" (use an IANA name such as Europe/Berlin)`);
        } else timezone = top.timezone;
      }
      const rawJobs = top.jobs;
      if (rawJobs === undefined || rawJobs === null) add(['jobs'], 'missing `jobs:` mapping');
      else if (typeof rawJobs !== 'object' || Array.isArray(rawJobs))
        add(['jobs'], '`jobs` must be a mapping of job name to job');
      else {
        for (const [name, value] of Object.entries(rawJobs as Record<string, unknown>)) {
          /** True when the caller's own handler check found a problem (reported). */
          const badHandler = (handler: string | undefined) => {
            const problem = handler !== undefined ? opts.handlerProblem?.(handler) : undefined;
            if (problem) add(['jobs', name, 'handler'], problem);
            return problem !== undefined;
          };
          const nameProblem = jobNameProblem(name);
          if (nameProblem) add(['jobs', name], nameProblem, true);
          const parsed = jobSchema.safeParse(value ?? {});
          if (parsed.success) {
            const rules = jobRuleProblems(name, parsed.data, timezone);
            for (const r of rules) add(r.path, r.message, r.atKey);
            const handlerBad = badHandler(parsed.data.handler);
            if (!nameProblem && rules.length === 0 && !handlerBad)
              jobs[name] = toDefinition(name, parsed.data, timezone);
            continue;
          }
          // a bad shape must not hide the job's other errors: check the rules on its well-shaped part too
          addIssues(['jobs', name], parsed.error.issues as unknown as Issue[]);
          const part = wellShapedPart(value ?? {});
          if (part === undefined) continue;
          const given = new Set(
            Object.entries((value ?? {}) as Record<string, unknown>)
              .filter(([, v]) => v !== undefined && v !== null)
              .map(([k]) => k),
          );
          for (const r of jobRuleProblems(name, part, timezone, given)) add(r.path, r.message, r.atKey);
          badHandler(part.handler);
        }
      }
    }
  }
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    const lines = problems.map((p) => `  ${fileName}:${p.line}:${p.column} ${p.path ? `${p.path}: ` : ''}${p.message}`);
    throw new ValidationError(
      `${fileName} is invalid (${problems.length} error${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      {
        code: ErrorCode.JOBS_FILE_INVALID,
        details: { file: fileName, errors: problems },
      },
    );
  }
  return { timezone, jobs };
}
