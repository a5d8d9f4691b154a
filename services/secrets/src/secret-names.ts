/** Minimal view of a parsed jobs file: only what names secrets. */
export interface JobsFileLike {
  jobs: Record<
    string,
    {
      targets?: string[] | { secret: string };
      alerts?: { secret?: string };
      options?: unknown;
    }
  >;
}

const TEMPLATE = /\$\{secret:([^}]+)\}/g;

/** Secret names in `${secret:NAME}` / `${secret:NAME.field}` templates anywhere in a text or a value tree. */
export function templateSecretNames(input: unknown, out = new Set<string>()): Set<string> {
  if (typeof input === 'string') {
    for (const m of input.matchAll(TEMPLATE)) out.add(baseName(m[1].trim()));
  } else if (Array.isArray(input)) {
    for (const v of input) templateSecretNames(v, out);
  } else if (input && typeof input === 'object') {
    for (const v of Object.values(input)) templateSecretNames(v, out);
  }
  return out;
}

/** Every secret a jobs file needs: templates in handler options, `targets: { secret }`, `alerts.secret`. */
export function secretNamesFromJobs(file: JobsFileLike): string[] {
  const names = new Set<string>();
  for (const job of Object.values(file.jobs)) {
    const targets = job.targets;
    if (targets && !Array.isArray(targets) && typeof targets.secret === 'string') names.add(targets.secret);
    if (job.alerts?.secret) names.add(job.alerts.secret);
    templateSecretNames(job.options, names);
    templateSecretNames(job, names);
  }
  return [...names].sort();
}

/** `NAME.field` -> `NAME` (a field path selects inside a JSON secret). */
function baseName(ref: string): string {
  const dot = ref.indexOf('.');
  return dot === -1 ? ref : ref.slice(0, dot);
}

export function parseNameList(text: string | undefined): string[] {
  if (!text) return [];
  return [
    ...new Set(
      text
        .split(/[,\s]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}
