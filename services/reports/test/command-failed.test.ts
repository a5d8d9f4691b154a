import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classify, createLogger, ErrorCode, isRetryable, systemClock, toErrorInfo } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import type { HandlerContext } from '../src/handler-api.js';
import { commandHandler } from '../src/handlers/command-handler.js';

// A command that exits non-zero is the command's failure, not a bug in Vigil's handler: transient (retried per the
// job's policy, as `unexpected` was), a stable code, both output tails in the message, and no stack into the runner.

function context(run: string[]): HandlerContext {
  return {
    runId: 'cmd-failed-1',
    job: 'cmd',
    attempt: 1,
    targets: [],
    options: { run },
    baseDir: mkdtempSync(path.join(tmpdir(), 'vigil-test-command-failed-')),
    log: createLogger({ service: 'test', level: 'silent' }),
    secrets: { get: async () => '', resolve: async (t) => t },
    signal: new AbortController().signal,
    progress: () => undefined,
    clock: systemClock,
    scheduledAt: new Date().toISOString(),
    timezone: 'UTC',
  };
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
