import { spawn } from 'node:child_process';
import path from 'node:path';
import { ErrorCode, scrubSecrets, TransientError, ValidationError, VigilError } from '@vigil/shared';
import { z } from 'zod';
import { inheritedEnv } from '../config.js';
import { defineHandler } from '../handler-api.js';

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

function tail(buf: string): string {
  return buf.length > TAIL ? `…${buf.slice(-TAIL)}` : buf;
}

/** `command`: spawns a process (array = no shell), captures the tail of its output, kills it on timeout/cancel. */
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
      const [cmd, ...args] = Array.isArray(o.run) ? o.run : [o.run];
      const child = spawn(cmd, args, {
        cwd: path.resolve(ctx.baseDir, o.cwd ?? '.'),
        env: { ...inheritedEnv(), ...o.env, VIGIL_RUN_ID: ctx.runId, VIGIL_JOB: ctx.job },
        shell: !Array.isArray(o.run),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out = tail(out + c.toString());
        ctx.progress('output');
      });
      child.stderr.on('data', (c: Buffer) => {
        err = tail(err + c.toString());
      });
      let timedOut = false;
      const kill = () => {
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, o.timeout);
      ctx.signal.addEventListener('abort', kill, { once: true });
      return new Promise((resolve, reject) => {
        child.on('error', (e) => {
          clearTimeout(timer);
          reject(
            new ValidationError(`cannot start ${cmd}: ${e.message}`, { code: ErrorCode.COMMAND_FAILED, cause: e }),
          );
        });
        child.on('close', (code, sig) => {
          clearTimeout(timer);
          ctx.signal.removeEventListener('abort', kill);
          // The tails go into job events and run records as they are; the message is scrubbed by toErrorInfo.
          const stdoutTail = scrubSecrets(tail(out));
          const stderrTail = scrubSecrets(tail(err));
          const details = { exitCode: code, signal: sig, stdoutTail, stderrTail };
          if (ctx.signal.aborted) reject(ctx.signal.reason);
          else if (timedOut)
            reject(new TransientError(`${cmd} timed out after ${o.timeout} ms`, { code: ErrorCode.TIMEOUT, details }));
          else if (code !== 0) {
            const last = (err || out).trim().split('\n').slice(-3).join(' | ');
            reject(
              new VigilError(`${cmd} exited with ${code ?? sig}: ${last}`, 'unexpected', {
                code: ErrorCode.COMMAND_FAILED,
                details,
              }),
            );
          } else resolve({ details });
        });
      });
    },
  });
}
