import { ErrorCode, type JobDefinition, ValidationError } from '@vigil/shared';
import type { HandlerSecrets } from '../handler-api.js';

/** Parses a secret holding targets: a JSON array, or one target per line / comma. */
export function parseTargetList(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new ValidationError('targets secret is not a JSON list', { code: ErrorCode.VALIDATION });
    }
    if (!Array.isArray(parsed)) throw new ValidationError('targets secret is not a list');
    return parsed.map((t) => (typeof t === 'string' ? t : String((t as { id?: unknown })?.id ?? JSON.stringify(t))));
  }
  return trimmed
    .split(/[\n,]/)
    .map((t) => t.trim())
    .filter(Boolean);
}

/**
 * The targets of one run: the request's own subset (a backup run), else the job's list, else the list
 * held in a secret (read without registering its names for log redaction). A requested target the job does not
 * know is a validation error.
 */
export async function resolveTargets(
  def: JobDefinition,
  requested: string[] | undefined,
  secrets: HandlerSecrets,
): Promise<string[]> {
  let all: string[] | undefined;
  if (Array.isArray(def.targets)) all = def.targets;
  else if (def.targets && 'secret' in def.targets) {
    // A secret only keeps the list out of the jobs file: the names are in clear in events, emails and artifact
    // names, and redacting them would scrub every job's log lines of the name a per-target search greps for.
    all = parseTargetList(await secrets.get(def.targets.secret, { redact: false }));
  }
  if (!requested || requested.length === 0) return all ?? [];
  if (all) {
    const unknown = requested.filter((t) => !all.includes(t));
    if (unknown.length > 0) {
      throw new ValidationError(`unknown target(s) for ${def.name}: ${unknown.join(', ')}`, {
        code: ErrorCode.VALIDATION,
        details: { unknown },
      });
    }
  }
  return requested;
}
