import {
  errorMessage,
  MAX_TRIGGER_REASON_LENGTH,
  MAX_TRIGGER_TARGET_LENGTH,
  MAX_TRIGGER_TARGETS,
  RUN_STATUSES,
  validAddress,
} from '@vigil/shared';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import {
  dlqListCommand,
  dlqReplayCommand,
  healthCommand,
  secretsStatusCommand,
  testEmailCommand,
} from './commands/ops.js';
import { checkCommand } from './commands/check.js';
import { jobsCommand, pauseCommand, triggerCommand } from './commands/jobs.js';
import { runCommand, runsCommand } from './commands/runs.js';
import { type CliEnv, cliEnv } from './config.js';
import { type CommandContext, commandContext, type Io, processIo } from './context.js';
import { CliError, EXIT } from './errors.js';

const collect = (value: string, prev: string[] = []) => [...prev, value];
/** A mistyped address is a usage error here, not a test mail silently sent to the default recipients. */
const collectAddress = (value: string, prev: string[] = []) => {
  if (!validAddress(value)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not an email address`);
  return [...prev, value];
};

export interface MainOptions {
  env?: CliEnv;
  io?: Io;
}

/** Runs the `vigil` command line; resolves with the exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  const io = opts.io ?? processIo;
  const env = opts.env ?? cliEnv();
  let exitCode: number = EXIT.OK;
  const program = new Command('vigil')
    .description('Vigil: scheduled jobs and integrations that never fail silently. Talks to NATS (NATS_URL).')
    .option('--json', 'machine-readable JSON output')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const ctx = (): CommandContext => commandContext(env, io, program.opts<{ json?: boolean }>().json === true);

  program
    .command('jobs')
    .description('list jobs: schedule, next run, last status, last success, paused')
    .action(() => jobsCommand(ctx()));
  program
    .command('trigger <job>')
    .description('run a job now (prints the runId)')
    .option(
      '-t, --target <target>',
      `only this target (repeatable; at most ${MAX_TRIGGER_TARGETS}, each at most ${MAX_TRIGGER_TARGET_LENGTH} characters)`,
      collect,
    )
    .option('-d, --delay <duration>', 'start no earlier than this from now (e.g. 10m)')
    .requiredOption(
      '-r, --reason <text>',
      `why this run is needed (kept in the run history; at most ${MAX_TRIGGER_REASON_LENGTH} characters)`,
    )
    .option('-f, --force', 'run even if the job is paused or already running')
    .option(
      '-q, --queue',
      'publish job.trigger.<job> to its stream: runs when a scheduler reads it (use while none answers)',
    )
    .option(
      '--id <runId>',
      "the run's id, its idempotency key (default: a new ULID): the id a trigger without an answer printed runs once, however often sent or queued",
    )
    .action((job: string, o) => triggerCommand(ctx(), job, o));
  program
    .command('runs')
    .description('recent runs, newest first')
    .option('-j, --job <job>', 'only this job')
    .option('-s, --status <status>', `only this status (${RUN_STATUSES.join(', ')})`)
    .option('--since <iso>', 'scheduled at or after this time')
    .option('-n, --limit <n>', 'at most this many (default 50)')
    .action((o) => runsCommand(ctx(), o));
  program
    .command('run <runId>')
    .description("one run's lifecycle, targets and errors")
    .action((runId: string) => runCommand(ctx(), runId));
  program
    .command('pause <job>')
    .description('stop scheduled runs of a job (manual triggers need --force)')
    .option('-r, --reason <text>', 'why')
    .action((job: string, o: { reason?: string }) => pauseCommand(ctx(), job, true, o.reason));
  program
    .command('resume <job>')
    .description('resume scheduled runs of a job')
    .action((job: string) => pauseCommand(ctx(), job, false));
  program
    .command('secrets')
    .description('secrets service')
    .command('status')
    .description('age, source and staleness of every cached secret (never a value)')
    .action(() => secretsStatusCommand(ctx()));
  program
    .command('test-email')
    .description('send a CRITICAL test alert through the notifier')
    .option('--to <address>', 'recipient (repeatable; default: the configured recipients)', collectAddress)
    .action((o: { to?: string[] }) => testEmailCommand(ctx(), o));
  const dlq = program.command('dlq').description('dead-letter queue');
  dlq
    .command('list')
    .description('dead letters, newest first')
    .option('-n, --limit <n>', 'at most this many (default 50)')
    .action((o: { limit?: string }) => dlqListCommand(ctx(), o));
  dlq
    .command('replay <seq>')
    .description('re-drive a dead letter: re-publish it to its original subject, then remove it from the DLQ')
    .action((seq: string) => dlqReplayCommand(ctx(), seq));
  program
    .command('check [file]')
    .description('validate a jobs file offline, as the services would (default: $VIGIL_JOBS_FILE, else jobs.yaml)')
    .action((file: string | undefined) =>
      checkCommand(
        ctx(),
        file ?? env.jobsFile ?? 'jobs.yaml',
        file ? undefined : env.jobsFile ? 'from VIGIL_JOBS_FILE' : 'no file given and VIGIL_JOBS_FILE not set',
      ),
    );
  program
    .command('health')
    .description('every service ready? coverage today, failure rates, open breakers, DLQ depth (exit 1 if degraded)')
    .action(async () => {
      if (!(await healthCommand(ctx()))) exitCode = EXIT.FAILURE;
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
        return EXIT.OK;
      if (err.code === 'commander.executeSubCommandAsync') return EXIT.FAILURE;
      return EXIT.USAGE;
    }
    if (err instanceof CliError) {
      io.err(`vigil: ${err.message}`);
      return err.exitCode;
    }
    io.err(`vigil: ${errorMessage(err)}`);
    return EXIT.FAILURE;
  }
}
