import { ErrorCode } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { errorActions } from '../../src/error-actions.js';
import { renderEmail } from '../../src/render-email.js';
import { toAlert } from '../../src/to-alert.js';
import { failedEvent, section } from './fixtures.js';

const commandFailed = {
  type: 'CommandFailedError',
  code: ErrorCode.COMMAND_FAILED,
  message: 'command exited with code 2\nstderr: cannot open /data/in.csv\nstdout: (none)',
  class: 'transient' as const,
};

describe('email polish', () => {
  it('a failed command: the advice points at the error above it (the ERROR block comes first)', () => {
    const text = errorActions(commandFailed, 'nightly-export').join('\n');
    expect(text).toContain('are in the error above');
    expect(text).not.toContain('in the error below');
  });

  it('plain text: every line of a multi-line error stays indented inside the ERROR block', () => {
    const alert = toAlert('job.failed.daily-reports', failedEvent({ error: commandFailed }))!;
    const text = renderEmail(alert, { publicUrl: 'http://vigil.example' }).text;
    expect(section(text, 'ERROR').split('\n').filter(Boolean)).toEqual([
      '  CommandFailedError: command exited with code 2',
      '  stderr: cannot open /data/in.csv',
      '  stdout: (none)',
    ]);
  });

  it('the curl re-run line says where $VIGIL_API_TOKEN comes from, in text and HTML', () => {
    const alert = toAlert('job.failed.daily-reports', failedEvent())!;
    const mail = renderEmail(alert, { publicUrl: 'http://vigil.example' });
    // a deployment (ALERT_CLI vigil): its variable; a checkout's env file is no business of it
    expect(section(mail.text, 'RE-RUN')).toMatch(
      /or through the API \(\$VIGIL_API_TOKEN is the scheduler's API token, the VIGIL_API_TOKEN variable of the deployment\):/,
    );
    expect(mail.html).toContain('$VIGIL_API_TOKEN is the scheduler&#39;s API token');
    // the npm start stack (ALERT_CLI npx vigil): the checkout's .vigil/env (test/unit/api-token-hint.test.ts: other cases)
    const dev = renderEmail(alert, { publicUrl: 'http://vigil.example', cli: 'npx vigil' });
    expect(section(dev.text, 'RE-RUN')).toMatch(
      /or through the API \(\$VIGIL_API_TOKEN is the scheduler's API token, the VIGIL_API_TOKEN variable of the deployment; in the checkout `set -a; \. \.vigil\/env; set \+a` exports it\):/,
    );
  });
});
