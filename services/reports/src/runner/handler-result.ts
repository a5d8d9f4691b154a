/**
 * What a handler may return, checked once per run before it becomes the run's terminal event. The runner builds
 * and publishes its events without a schema parse (the hot path), so a result outside the contract (a `module:`
 * handler is plain JavaScript) would otherwise publish `job.ok.<job>` or a `job.succeeded` that fails the shared
 * JobRunSchema: consumers dead-letter it and the run never finishes for them. Only the fields the runner copies
 * into the event are checked, each against the rule of JobRunSchema it ends up under; a handler that returns
 * nothing (the common case) costs one comparison.
 */

const STATUSES: ReadonlySet<unknown> = new Set(['succeeded', 'partial', 'failed']);
/** Run data the runner computes itself: a handler returning it expects an effect it would not have. */
const RUN_DATA_KEYS: ReadonlySet<string> = new Set(['stats', 'failures', 'error']);
const SHAPE = 'nothing or an object { status?, targets?, details? }';
const TARGET_SHAPE = '{ target, ok, error? }';
const DETAILS_SHAPE = 'an object of named values, e.g. { rows: 12 }';

/** A value as the handler's author wrote it, short: `"ok"`, `12`, `[1,2]`, `undefined`. */
function show(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v);
  else if (typeof v === 'bigint') s = `${v}n`;
  else if (typeof v === 'function') s = `function ${v.name || '(anonymous)'}`;
  else if (typeof v === 'symbol' || v === undefined) s = String(v);
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = Object.prototype.toString.call(v);
    }
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** `(a string)`, `(an array)`, `(a Date)`; nothing for undefined and null, which say it themselves. */
function kind(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return ' (an array)';
  if (typeof v === 'object') {
    const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== 'Object' ? ` (a ${name})` : ' (an object)';
  }
  return ` (a ${typeof v})`;
}

const returned = (what: string, v: unknown) => `handler returned ${what}${what ? ' ' : ''}${show(v)}${kind(v)}`;

function targetsProblem(targets: unknown): string | undefined {
  if (!Array.isArray(targets)) return `${returned('targets', targets)}; expected an array of ${TARGET_SHAPE}`;
  for (let i = 0; i < targets.length; i++) {
    const t: unknown = targets[i];
    if (typeof t !== 'object' || t === null || Array.isArray(t)) {
      return `${returned(`targets[${i}]`, t)}; expected ${TARGET_SHAPE}`;
    }
    const { target, ok } = t as { target?: unknown; ok?: unknown };
    if (typeof target !== 'string' || target.length === 0) {
      return `${returned(`targets[${i}].target`, target)}; expected the target's name (a non-empty string)`;
    }
    if (typeof ok !== 'boolean') return `${returned(`targets[${i}].ok`, ok)}; expected true or false`;
  }
  return undefined;
}

function detailsProblem(details: unknown): string | undefined {
  if (typeof details !== 'object' || Array.isArray(details)) {
    return `${returned('details', details)}; expected ${DETAILS_SHAPE}`;
  }
  // What consumers read is its JSON: it must be written at all (no BigInt, no cycle) and as an object (a Date or a
  // toJSON() returning something else is not one). Only runs that return details pay for this.
  let json: string | undefined;
  try {
    json = JSON.stringify(details);
  } catch (err) {
    return `handler returned details that cannot be written as JSON: ${(err as Error).message}`;
  }
  if (json === undefined || json[0] !== '{') return `${returned('details', details)}; expected ${DETAILS_SHAPE}`;
  return undefined;
}

/**
 * Why a handler's result is not a valid outcome, in words for the handler's author, or undefined when it is one.
 * `undefined` and `null` (nothing) are valid: the run succeeded.
 */
export function handlerResultProblem(result: unknown): string | undefined {
  if (result === undefined || result === null) return undefined;
  if (typeof result !== 'object' || Array.isArray(result)) return `${returned('', result)}; expected ${SHAPE}`;
  const r = result as Record<string, unknown>;
  for (const key in r) {
    if (key === 'status' || key === 'targets' || key === 'details' || r[key] === undefined) continue;
    const hint = RUN_DATA_KEYS.has(key)
      ? `stats and failures are computed from targets: [${TARGET_SHAPE}]; to fail the run, throw`
      : 'put extras in details';
    return `handler returned a field ${JSON.stringify(key)}; a result has only status, targets and details (${hint})`;
  }
  const { status, targets, details } = r;
  if (status !== undefined && !STATUSES.has(status)) {
    // a string's value is what is wrong ("ok"); anything else, its type
    const what = typeof status === 'string' ? `handler returned status ${show(status)}` : returned('status', status);
    return `${what}; expected succeeded, partial or failed`;
  }
  if (targets !== undefined) {
    const problem = targetsProblem(targets);
    if (problem) return problem;
  }
  if (details !== undefined && details !== null) return detailsProblem(details);
  return undefined;
}
