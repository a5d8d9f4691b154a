import { errorMessage, validAddress } from '@vigil/shared';

/**
 * Who gets an alert: the first level of the cascade that yields at least one valid address wins.
 * job `alerts.recipients` → the job's alert secret → ADMIN_EMAIL → DEV_EMAIL_ADDRESSES.
 */
export type RecipientLevel = 'request' | 'job' | 'secret' | 'admin' | 'dev';

export interface RecipientSources {
  /** `notify.send` recipients, which replace the cascade. */
  request?: string[];
  /** The job's `alerts.recipients` from the jobs file. */
  job?: string[];
  /** Reads the alert secret lazily (only when the levels above are empty); undefined when it does not exist. */
  secret?: () => Promise<string | undefined>;
  admin?: string;
  dev?: string;
}

export interface ResolvedRecipients {
  recipients: string[];
  level?: RecipientLevel;
  /** Addresses dropped as invalid, with the level they came from. */
  invalid: Array<{ level: RecipientLevel; address: string }>;
  /** Problems met on the way (e.g. the secrets service was unreachable), for a warning log. */
  problems: string[];
  /** A level could not be read (not: was empty). No recipients then means "not now", not "nobody configured". */
  unavailable?: boolean;
  /** The alert secret that could not be read (set by the lookup), for the note in an email sent to a level below it. */
  unreadSecret?: string;
}

/**
 * The line an email carries when it went to a level below an alert secret that could not be read (the secrets
 * service down, or still starting after a restart): whoever reads it learns that the on-call list did not get it.
 */
export function skippedSecretNote(r: ResolvedRecipients): [string, string] | undefined {
  if (!r.unavailable || !r.unreadSecret || !r.recipients.length || (r.level !== 'admin' && r.level !== 'dev')) {
    return undefined;
  }
  const variable = r.level === 'admin' ? 'ADMIN_EMAIL' : 'DEV_EMAIL_ADDRESSES';
  const why = r.problems.map((p) => p.replace(/^alert secret unavailable: /, '')).join('; ');
  return [
    'Recipients',
    `${variable} only: the recipients in secret ${r.unreadSecret} could not be read (${why}), so the people listed there did not get this email`,
  ];
}

const LEVEL_SOURCE: Record<RecipientLevel, string> = {
  request: 'the notify.send recipients',
  job: "the job's alerts.recipients",
  secret: 'the alert secret',
  admin: 'ADMIN_EMAIL',
  dev: 'DEV_EMAIL_ADDRESSES',
};

/**
 * The line an email carries when the job's `alerts.recipients` had invalid entries (`not-an-address`, `ops@`): they
 * were dropped, and when none was valid the email went to a level below: its readers learn which entries to fix.
 */
export function invalidJobRecipientsNote(r: ResolvedRecipients, job?: string): [string, string] | undefined {
  const bad = r.invalid.filter((i) => i.level === 'job').map((i) => JSON.stringify(i.address));
  if (!bad.length || !r.level || !r.recipients.length) return undefined;
  const where = `the alerts.recipients of job ${job ?? '(unknown)'} in the jobs file`;
  const went = r.level === 'job' ? 'the valid ones got it' : `so it went to ${LEVEL_SOURCE[r.level]} instead`;
  return [
    'Invalid recipients',
    `${bad.join(', ')} in ${where} ${bad.length === 1 ? 'is not a valid address' : 'are not valid addresses'}: ${went}. Fix them there.`,
  ];
}

/**
 * Parses a recipients value as stored in a secret or a variable: a comma/semicolon/newline list, a JSON array,
 * or a JSON object with `job_failure_recipients` / `recipients` (as seed 000 kept it in a shared secret).
 */
export function parseRecipientList(value: string | undefined): string[] {
  if (!value) return [];
  const text = value.trim();
  if (text.startsWith('[') || text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed.filter((x): x is string => typeof x === 'string').map((s) => s.trim());
      if (parsed && typeof parsed === 'object') {
        const o = parsed as Record<string, unknown>;
        const inner = o.job_failure_recipients ?? o.recipients ?? o.emails;
        if (typeof inner === 'string') return parseRecipientList(inner);
        if (Array.isArray(inner)) return parseRecipientList(JSON.stringify(inner));
      }
      return [];
    } catch {
      // not JSON after all: fall through to the list form
    }
  }
  return text
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function validOf(level: RecipientLevel, raw: string[], out: ResolvedRecipients): string[] {
  const seen = new Set<string>();
  const valid: string[] = [];
  for (const r of raw) {
    const a = validAddress(r);
    if (!a) {
      out.invalid.push({ level, address: r });
      continue;
    }
    const key = a.toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      valid.push(a);
    }
  }
  return valid;
}

export async function resolveRecipients(src: RecipientSources): Promise<ResolvedRecipients> {
  const out: ResolvedRecipients = { recipients: [], invalid: [], problems: [] };
  const levels: Array<[RecipientLevel, () => Promise<string[]>]> = [
    ['request', async () => src.request ?? []],
    ['job', async () => src.job ?? []],
    [
      'secret',
      async () => {
        if (!src.secret) return [];
        try {
          return parseRecipientList(await src.secret());
        } catch (err) {
          out.problems.push(`alert secret unavailable: ${errorMessage(err)}`);
          out.unavailable = true;
          return [];
        }
      },
    ],
    ['admin', async () => parseRecipientList(src.admin)],
    ['dev', async () => parseRecipientList(src.dev)],
  ];
  for (const [level, read] of levels) {
    const valid = validOf(level, await read(), out);
    if (valid.length) {
      out.recipients = valid;
      out.level = level;
      return out;
    }
  }
  return out;
}
