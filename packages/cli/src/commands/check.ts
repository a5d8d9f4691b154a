import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { type JobDefinition, loadJobsFile, VigilError } from '@vigil/shared';
import type { CommandContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { ms, table } from '../format.js';

/** A `module:<path>` handler whose file is not there: the runner would fail every run of the job. */
function moduleProblem(handler: string, baseDir: string): string | undefined {
  if (!handler.startsWith('module:')) return undefined;
  const file = path.resolve(baseDir, handler.slice('module:'.length));
  if (!existsSync(file)) return `${file} does not exist (a module: path is relative to the jobs file)`;
  if (!statSync(file).isFile()) return `${file} is not a file`;
  return undefined;
}

/**
 * `vigil check [file]`: the jobs file judged by the same parser the services use, without NATS, so a change can be
 * checked before it is deployed (a service refuses to start on a file that fails here, exit 78). Every problem is
 * printed on its own line with its line and column; `module:` handlers are looked for on disk (not imported: that
 * would run their code). `chosen`: how the file was picked when none was given (said when it is not there).
 */
export async function checkCommand(ctx: CommandContext, file: string, chosen?: string): Promise<void> {
  if (!existsSync(file)) {
    const why = chosen ? ` (${chosen}; usage: vigil check <file>)` : '';
    throw new CliError(`jobs file ${path.resolve(file)} does not exist${why}`, EXIT.USAGE);
  }
  const baseDir = path.dirname(path.resolve(file));
  let jobs: JobDefinition[];
  try {
    jobs = Object.values((await loadJobsFile(file, { handlerProblem: (h) => moduleProblem(h, baseDir) })).jobs);
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
