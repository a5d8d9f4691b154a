import { ErrorCode } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { jobAlert, section } from './fixtures.js';

// A `command` job whose command exits non-zero: the advice says the command failed (not Vigil's handler), points at
// its exit code and output, and the email carries no stack frames of the runner as if they were the cause.

const MESSAGE = 'command exited with 3: disk full\nstdout: wrote 2 of 5 reports';

function commandFailed(error: Record<string, unknown>) {
  return jobAlert('failed', { error: { type: 'TransientError', message: MESSAGE, ...error } });
}

describe('a command that exited non-zero (VIGIL_E_COMMAND_FAILED)', () => {
  it('says the command itself failed, where its exit code and output are, and the re-run; not a handler bug', () => {
    const { mail, actions } = commandFailed({
      class: 'transient',
      code: ErrorCode.COMMAND_FAILED,
      stack: `TransientError: ${MESSAGE}`,
    });
    expect(actions).toMatch(
      /^The job's command itself failed: its exit code and the last lines of its stderr and stdout/,
    );
    expect(actions).toContain('Fix the command or what it depends on');
    expect(actions).toContain('re-run with the command below');
    expect(actions).not.toMatch(/bug in the handler|stack trace/);
    expect(mail.text).toContain('command exited with 3: disk full');
    expect(mail.text).toContain('stdout: wrote 2 of 5 reports');
    expect(mail.text).not.toMatch(/command-handler|\n\s+at /);
    expect(section(mail.text, 'RE-RUN')).toContain('vigil trigger daily-reports');
  });

  it('a hint its output gives (a timeout) follows the command line, never replaces it', () => {
    const { actions } = commandFailed({
      class: 'transient',
      code: ErrorCode.COMMAND_FAILED,
      message: 'command exited with 1: curl: (28) Operation timed out\nstdout: (none)',
    });
    const lines = actions.split('\n');
    expect(lines[0]).toMatch(/^The job's command itself failed/);
    expect(actions).toMatch(/The call timed out/);
  });

  it('a command that could not start (class validation) keeps the fix-the-input advice', () => {
    const { actions } = commandFailed({
      class: 'validation',
      code: ErrorCode.COMMAND_FAILED,
      message: 'cannot start ./missing.sh: spawn ./missing.sh ENOENT',
    });
    expect(actions).toMatch(/Invalid input \(cannot start/);
    expect(actions).not.toMatch(/command itself failed/);
  });

  it('the advice follows the code: an unexpected error of another code still reads as a handler bug', () => {
    const alert = jobAlert('failed', {
      error: {
        type: 'TypeError',
        message: "Cannot read properties of undefined (reading 'id')",
        class: 'unexpected',
        code: ErrorCode.UNEXPECTED,
      },
    });
    expect(alert.actions).toMatch(/likely a bug in the handler/);
  });
});
