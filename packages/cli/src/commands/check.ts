import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { type JobDefinition, loadJobsFile, VigilError } from '@vigil/shared';
import type { CommandContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { ms, table } from '../format.js';

/** A `module:<path>` handler whose file is not there: the runner would fail every run of the job. */
function moduleProblem(def: JobDefinition, baseDir: string): string | undefined {
  if (!def.handler.startsWith('module:')) return undefined;
  const rel = def.handler.slice('module:'.length);
  const file = path.resolve(baseDir, rel);
  if (!existsSync(file)) return `job ${def.name}: handler ${def.handler}: ${file} does not exist`;
  if (!statSync(file).isFile()) return `job ${def.name}: handler ${def.handler}: ${file} is not a file`;
  return undefined;
}

/**
 * `vigil check [file]`: the jobs file judged by the same parser the services use, without NATS, so a change can be
 * checked before it is deployed (a service refuses to start on a file that fails here, exit 78). Every problem is
 * printed on its own line with its line and column; `module:` handlers are looked for on disk (not imported: that
 * would run their code).
 */
export async function checkCommand(ctx: CommandContext, file: string): Promise<void> {
  if (!existsSync(file)) throw new CliError(`jobs file ${path.resolve(file)} does not exist`, EXIT.USAGE);
  let jobs: JobDefinition[];
  try {
    jobs = Object.values((await loadJobsFile(file)).jobs);
  } catch (err) {
    if (err instanceof VigilError) throw new CliError(err.message, EXIT.FAILURE, err.code);
    throw err;
  }
  const problems = jobs.map((def) => moduleProblem(def, path.dirname(path.resolve(file)))).filter((p) => p);
  if (problems.length > 0) {
    throw new CliError(
      `${file} is invalid (${problems.length} error${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`,
    );
  }
  const rows = jobs.map((j) => ({
    name: j.name,
    handler: j.handler,
    schedule: j.schedule ?? (j.every ? `every ${ms(j.every)}` : 'manual'),
    timezone: j.timezone,
    targets: Array.isArray(j.targets) ? j.targets.length : j.targets ? `secret ${j.targets.secret}` : undefined,
  }));
  ctx.print({ file, valid: true, jobs: rows }, () =>
    [
      `${file}: valid, ${rows.length} job${rows.length === 1 ? '' : 's'}`,
      table(
        ['JOB', 'HANDLER', 'SCHEDULE', 'TZ', 'TARGETS'],
        rows.map((r) => [r.name, r.handler, r.schedule, r.timezone, r.targets]),
      ),
    ].join('\n'),
  );
}
