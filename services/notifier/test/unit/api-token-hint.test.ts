import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/escape.js';
import { renderEmail } from '../../src/render-email.js';
import { apiTokenHint, rerunCommands } from '../../src/rerun.js';
import { toAlert } from '../../src/to-alert.js';
import { failedEvent } from './fixtures.js';

const publicUrl = 'http://127.0.0.1:8080';
const alert = () => toAlert('job.failed.daily-reports', failedEvent())!;
/** The line before the curl command, as the email's text shows it. */
const apiLine = (text: string) => text.split('\n').find((l) => l.includes('or through the API')) ?? '';

describe("the re-run section's $VIGIL_API_TOKEN hint follows ALERT_CLI", () => {
  it('a dev stack in another state dir (ALERT_CLI <dir>/vigil): the token is in <dir>/env, not .vigil/env', () => {
    // VIGIL_STATE_DIR=/tmp/x npm start: the stack's ALERT_CLI is its wrapper /tmp/x/vigil, its env file /tmp/x/env
    const m = renderEmail(alert(), { publicUrl, cli: '/tmp/x/vigil' });
    expect(m.text).toContain('  /tmp/x/vigil trigger daily-reports --reason');
    const line = apiLine(m.text);
    expect(line).toContain('`set -a; . /tmp/x/env; set +a` exports it');
    expect(line).not.toContain('.vigil/env');
    expect(m.html).toContain(escapeHtml('`set -a; . /tmp/x/env; set +a` exports it'));
    expect(m.html).not.toContain('.vigil/env');
    // a folder with a space is quoted as the shell needs it
    expect(apiTokenHint('/tmp/my stack/vigil')).toContain(". '/tmp/my stack/env';");
  });

  it("the default npm start stack (ALERT_CLI npx vigil): the checkout's .vigil/env", () => {
    const m = renderEmail(alert(), { publicUrl, cli: 'npx vigil' });
    expect(apiLine(m.text)).toContain('in the checkout `set -a; . .vigil/env; set +a` exports it');
    expect(m.html).toContain(escapeHtml('`set -a; . .vigil/env; set +a`'));
  });

  it("a deployment (ALERT_CLI vigil, or an installed /usr/local/bin/vigil): the deployment's variable, no env file", () => {
    for (const cli of [undefined, 'vigil', '/usr/local/bin/vigil']) {
      // after a dev-stack email, so nothing of that one's hint is left over
      renderEmail(alert(), { publicUrl, cli: '/tmp/x/vigil' });
      const m = renderEmail(alert(), { publicUrl, ...(cli ? { cli } : {}) });
      const line = apiLine(m.text);
      expect(line, String(cli)).toContain(
        "($VIGIL_API_TOKEN is the scheduler's API token, the VIGIL_API_TOKEN variable of the deployment):",
      );
      expect(`${line}${m.html}`, String(cli)).not.toMatch(/set -a|\/env\b|\.vigil\/env/);
    }
  });

  it('is part of the re-run commands', () => {
    expect(rerunCommands(alert(), publicUrl, '/srv/vigil-dev/vigil')?.tokenHint).toContain('. /srv/vigil-dev/env;');
  });
});
