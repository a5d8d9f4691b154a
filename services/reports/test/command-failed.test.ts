import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classify, ErrorCode, isRetryable, toErrorInfo } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import type { HandlerContext } from '../src/handler-api.js';
import { commandHandler } from '../src/handlers/command-handler.js';
import { handlerContext } from './helpers.js';

// A command that exits non-zero is the command's failure, not a bug in Vigil's handler: transient (retried per the
// job's policy, as `unexpected` was), a stable code, both output tails in the message, and no stack into the runner.

function context(run: string[]): HandlerContext {
  return handlerContext({
    runId: 'cmd-failed-1',
    job: 'cmd',
    options: { run },
    baseDir: mkdtempSync(path.join(tmpdir(), 'vigil-test-command-failed-')),
  });
}

describe('command handler: a non-zero exit', () => {
  it('is transient VIGIL_E_COMMAND_FAILED, quoting the exit code and the tails of stderr and stdout', async () => {
    const script = 'console.log("wrote 2 of 5 reports"); console.error("disk full"); process.exit(3);';
    const err = await commandHandler()
      .run(context([process.execPath, '-e', script]))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(classify(err)).toBe('transient');
    expect(isRetryable(err)).toBe(true);
    const info = toErrorInfo(err);
    expect(info).toMatchObject({ class: 'transient', code: ErrorCode.COMMAND_FAILED });
    expect(info.message).toBe('command exited with 3: disk full\nstdout: wrote 2 of 5 reports');
    // The command's output is its trace: no frames into command-handler.js for an alert to show as the cause.
    expect(info.stack).not.toMatch(/command-handler|\n\s+at /);
    expect((err as { details?: Record<string, unknown> }).details).toMatchObject({
      exitCode: 3,
      stderrTail: 'disk full\n',
      stdoutTail: 'wrote 2 of 5 reports\n',
    });
  });

  it('says so when a stream was empty', async () => {
    const err = await commandHandler()
      .run(context([process.execPath, '-e', 'process.exit(1)']))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(toErrorInfo(err).message).toBe('command exited with 1: (no stderr)\nstdout: (none)');
  });
});

// Node and Java print the error line first, then its stack frames: the last lines alone would be frames only. The
// message quotes the first error line before the tail, saying how many lines lie between them.
describe('command handler: the error line of a failed command', () => {
  const failure = async (run: string[]) => {
    const err = await commandHandler()
      .run(context(run))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    return { err: err as Error & { details: Record<string, unknown> }, message: toErrorInfo(err).message };
  };

  it('is quoted when Node prints it before its stack frames', async () => {
    const script = "function connect(){ throw new Error('payments DB refused connection') } connect()";
    const { message } = await failure([process.execPath, '-e', script]);
    expect(message).toMatch(/^command exited with 1: Error: payments DB refused connection\n {4}at connect \(/);
    // ... and so is the tail, as before.
    expect(message).toMatch(/\n {4}at connect \(\[eval\]:1:\d+\)\n[\s\S]*\nNode\.js v\d+[^\n]*\nstdout: \(none\)$/);
    expect(message.split('Error: payments DB refused connection')).toHaveLength(2);
    // Not the source line Node echoes above it, which merely mentions an Error.
    expect(message).not.toContain('throw new Error');
  });

  it('is quoted from far before the tail (a Java stack of 300 frames), with the lines skipped counted', async () => {
    const script = [
      'const frames = Array.from({ length: 300 }, (_, i) => "\\tat com.acme.Payments.connect(Payments.java:" + i + ")");',
      'console.error(["Exception in thread \\"main\\" java.lang.IllegalStateException: payments DB refused connection", ...frames].join("\\n"));',
      'process.exit(1);',
    ].join('\n');
    const { err, message } = await failure([process.execPath, '-e', script]);
    const last = Array.from({ length: 10 }, (_, i) => `\tat com.acme.Payments.connect(Payments.java:${290 + i})`);
    expect(message).toBe(
      [
        'command exited with 1: Exception in thread "main" java.lang.IllegalStateException: payments DB refused connection',
        '… (290 lines skipped)',
        ...last,
        'stdout: (none)',
      ].join('\n'),
    );
    // The 4 KB tail in details had lost it: the message is the one place it is.
    expect(err.details.stderrTail).not.toContain('IllegalStateException');
  });

  it('is not quoted twice when it is among the last lines (Python prints it last)', async () => {
    const script = [
      'console.error("Traceback (most recent call last):");',
      'for (let i = 0; i < 12; i++) console.error("  File \\"job.py\\", line " + i + ", in step" + i + "\\n    step" + (i + 1) + "()");',
      'console.error("ValueError: bad input");',
      'process.exit(1);',
    ].join('\n');
    const { message } = await failure([process.execPath, '-e', script]);
    expect(message).toMatch(/^command exited with 1: {5}step8\(\)\n[\s\S]*\nValueError: bad input\nstdout: \(none\)$/);
    expect(message).not.toContain('Traceback');
    expect(message).not.toContain('skipped');
  });

  it('is quoted from stdout when stderr has none, and a long one is cut', async () => {
    const long = `ERROR: cannot load config ${'x'.repeat(5_000)}`;
    const script = `console.log(${JSON.stringify(long)}); for (let i = 1; i <= 20; i++) console.log("step " + i); process.exit(2);`;
    const { message } = await failure([process.execPath, '-e', script]);
    const steps = Array.from({ length: 10 }, (_, i) => `step ${11 + i}`);
    expect(message).toBe(
      ['command exited with 2: (no stderr)', `stdout: ${long.slice(0, 500)}…`, '… (10 lines skipped)', ...steps].join(
        '\n',
      ),
    );
  });
});
