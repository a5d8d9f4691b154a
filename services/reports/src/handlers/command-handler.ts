import { spawn } from 'node:child_process';
import path from 'node:path';
import { ErrorCode, scrubSecrets, TransientError, ValidationError } from '@vigil/shared';
import { z } from 'zod';
import { inheritedEnv } from '../config.js';
import { defineHandler } from '../handler-api.js';
import { ErrorLineScanner, quoteOutput } from './error-line.js';

const optionsSchema = z.object({
  run: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  timeout: z
    .number()
    .int()
    .min(1)
    .default(10 * 60_000),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
});

const TAIL = 4096;
/** Between SIGTERM and SIGKILL to the command's process group. */
const KILL_GRACE_MS = 5_000;
/** After the command exits, how long output still in its pipes is waited for. */
const OUTPUT_GRACE_MS = 200;
const PROGRESS_EVERY_MS = 1_000;

function tail(buf: string): string {
  return buf.length > TAIL ? `…${buf.slice(-TAIL)}` : buf;
}

/** Lines of each output tail quoted in the failure message (the whole tails are in `details`). */
const MESSAGE_TAIL_LINES = 10;

/**
 * One stream's part of the failure message: its last lines, preceded by its first error line when that one is not
 * among them (Node and Java print the error, then its stack frames), which the scanner found in the whole output,
 * beyond the tail kept too.
 */
function quote(tailText: string, scanner: ErrorLineScanner | undefined): string {
  const found = scanner?.found();
  const error = found && { ...found, line: scrubSecrets(found.line) };
  return quoteOutput(tailText, MESSAGE_TAIL_LINES, error, scanner?.newlines ?? 0);
}

/**
 * A command that exited non-zero (or died of a signal we did not send). Transient, as `unexpected` was before: both
 * are retryable (isRetryable), so the job's retry policy applies unchanged; but it no longer reads as a bug in
 * Vigil's handler. The command's output is its trace: the message quotes the stderr tail, then the stdout tail, and
 * the "stack" is the message alone, since its frames would only point into this file (the notifier shows a stack
 * whenever an error carries one). Its error line is quoted before a tail that lacks it: from stderr, or from stdout
 * when stderr has none.
 */
function commandFailed(
  code: number | null,
  sig: NodeJS.Signals | null,
  details: { stdoutTail: string; stderrTail: string } & Record<string, unknown>,
  scanners: { stdout: ErrorLineScanner; stderr: ErrorLineScanner },
): TransientError {
  const status = code === null ? `signal ${sig}` : String(code);
  const fromStderr = scanners.stderr.found() !== undefined;
  const stderr = quote(details.stderrTail, fromStderr ? scanners.stderr : undefined) || '(no stderr)';
  const stdout = quote(details.stdoutTail, fromStderr ? undefined : scanners.stdout) || '(none)';
  const e = new TransientError(`command exited with ${status}: ${stderr}\nstdout: ${stdout}`, {
    code: ErrorCode.COMMAND_FAILED,
    details,
  });
  e.stack = `${e.name}: ${e.message}`;
  return e;
}

/**
 * `command`: spawns a process (array = no shell) in its own process group, captures the tail of its output, and
 * on timeout/cancel kills the whole group (SIGTERM, SIGKILL after a grace).
 */
export function commandHandler() {
  const parse = (options: unknown) => {
    const r = optionsSchema.safeParse(options);
    if (!r.success) {
      throw new ValidationError(r.error.issues.map((i) => `command.${i.path.join('.')}: ${i.message}`).join('; '), {
        code: ErrorCode.VALIDATION,
      });
    }
    return r.data;
  };
  return defineHandler({
    validate: (ctx) => {
      parse(ctx.options);
    },
    run: (ctx) => {
      const o = parse(ctx.options);
      // Cancelled (or shutting down) before it started: nothing is spawned.
      if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
      const [cmd, ...args] = Array.isArray(o.run) ? o.run : [o.run];
      // Its own process group, so a timeout or cancel reaches what it forked too (`sh -c "a; b"`).
      const child = spawn(cmd, args, {
        cwd: path.resolve(ctx.baseDir, o.cwd ?? '.'),
        env: { ...inheritedEnv(), ...o.env, VIGIL_RUN_ID: ctx.runId, VIGIL_JOB: ctx.job },
        shell: !Array.isArray(o.run),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let out = '';
      let err = '';
      // The first error line of each stream, which the tails may have lost.
      const scanners = { stdout: new ErrorLineScanner(), stderr: new ErrorLineScanner() };
      let lastProgress = Number.NEGATIVE_INFINITY;
      child.stdout.on('data', (c: Buffer) => {
        const text = c.toString();
        out = tail(out + text);
        scanners.stdout.push(text);
        // A heartbeat and a log line at most once a second, however chatty the command is.
        const now = ctx.clock.now();
        if (now - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = now;
          ctx.progress('output');
        }
      });
      child.stderr.on('data', (c: Buffer) => {
        const text = c.toString();
        err = tail(err + text);
        scanners.stderr.push(text);
      });
      let timedOut = false;
      let killing = false;
      const signalGroup = (sig: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // the group is gone already (ESRCH)
        }
      };
      const kill = () => {
        if (killing) return;
        killing = true;
        signalGroup('SIGTERM');
        // Whatever ignores SIGTERM in the group is killed after the grace, even when the direct child exited.
        setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS).unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, o.timeout);
      ctx.signal.addEventListener('abort', kill, { once: true });
      return new Promise((resolve, reject) => {
        let settled = false;
        const cleanup = () => {
          settled = true;
          clearTimeout(timer);
          ctx.signal.removeEventListener('abort', kill);
        };
        child.on('error', (e) => {
          if (settled) return;
          cleanup();
          reject(
            new ValidationError(`cannot start ${cmd}: ${e.message}`, { code: ErrorCode.COMMAND_FAILED, cause: e }),
          );
        });
        const finish = (code: number | null, sig: NodeJS.Signals | null) => {
          if (settled) return;
          cleanup();
          // A process it left behind may still hold the pipes: stop reading them.
          child.stdout.destroy();
          child.stderr.destroy();
          // The tails go into job events and run records as they are; the message is scrubbed by toErrorInfo.
          const stdoutTail = scrubSecrets(tail(out));
          const stderrTail = scrubSecrets(tail(err));
          const details = { exitCode: code, signal: sig, stdoutTail, stderrTail };
          if (ctx.signal.aborted) reject(ctx.signal.reason);
          else if (timedOut)
            reject(new TransientError(`${cmd} timed out after ${o.timeout} ms`, { code: ErrorCode.TIMEOUT, details }));
          else if (code !== 0) reject(commandFailed(code, sig, details, scanners));
          else resolve({ details });
        };
        // Settled when the process exits (its last output read, or a short grace for it), not when every holder
        // of its stdout/stderr closed them: a process it forked may keep them open for as long as it lives.
        child.on('exit', (code, sig) => {
          const grace = setTimeout(() => finish(code, sig), OUTPUT_GRACE_MS);
          child.on('close', () => {
            clearTimeout(grace);
            finish(code, sig);
          });
        });
      });
    },
  });
}
