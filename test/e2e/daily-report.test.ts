import { type FakeLlm, startFakeLlm, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lineStartingWith } from './shell-words.js';
import { cronOnceIn, Stack } from './stack.js';

// Seed 003: daily reports silently skipped companies. Here the model endpoint fails for one of five companies:
// the run ends `job.partial` naming it, a WARNING email says so, the backup run re-requests only that company,
// and today's coverage in GET /api/system/health is back to 100%.
const COMPANIES = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];
const FAILING = 'umbrella';
let llm: FakeLlm;
let llmDown = true;
const slot = cronOnceIn(16_000);
let stack: Stack;

beforeAll(async () => {
  // every model fails for one company until it is fixed
  llm = await startFakeLlm({
    '*': (req) =>
      llmDown && req.prompt.includes(FAILING) ? { status: 500 } : { text: `# Daily report\n${req.prompt}` },
  });
  stack = new Stack({
    jobsYaml: `
timezone: UTC
jobs:
  daily-reports:
    schedule: "${slot.cron}"
    handler: report.daily
    targets: [${COMPANIES.join(', ')}]
    report: { endpoint: "${llm.url}", models: [primary-model, fallback-model], retries: 1, baseDelayMs: 50 }
    retries: { max: 1, backoff: exponential, base: 200ms, max: 1s }
    backup: { after: 10s }
`,
    env: { ALERT_GROUP_INTERVAL: '0' },
  });
  await stack.up();
}, 45_000);
afterAll(async () => {
  await stack?.down();
  await llm.close();
}, 30_000);

it('one company fails -> job.partial -> WARNING email -> backup run for that company only -> coverage 100%', async () => {
  expect(Date.now(), 'the stack started after the slot; raise the slot offset').toBeLessThan(slot.at - 1_000);
  const [partial] = await stack.events.waitFor('job.partial.daily-reports', 1, slot.at - Date.now() + 30_000);
  expect(partial.event.data.stats).toMatchObject({ targets: 5, succeeded: 4, failed: 1 });
  expect(partial.event.data.failures.map((f: { target: string }) => f.target)).toEqual([FAILING]);
  // the model recovers soon after; the backup (10 s after the slot) will find it healthy
  llmDown = false;
  const sinceFix = llm.requests.length;

  const warning = await stack.mail((m) => m.subject.includes('WARNING') && m.subject.includes('daily-reports'));
  expect(warning.subject).toContain('1/5');
  expect(warning.text).toContain(FAILING);
  expect(lineStartingWith(warning.text, 'vigil trigger')).toContain(`--target ${FAILING}`);
  const coverage = async () => {
    const h = await stack.api('scheduler', 'GET', '/api/system/health');
    return h.json.coverage.find((c: { job: string }) => c.job === 'daily-reports') as
      | { covered: number; total: number; ratio: number | null }
      | undefined;
  };
  await waitFor(async () => (await coverage())?.covered === 4, { timeout: 5_000, message: 'coverage 4/5' });
  expect(await coverage()).toMatchObject({ covered: 4, total: 5 });

  const [backup] = await stack.events.waitFor('job.succeeded.daily-reports', 1, 20_000);
  expect(backup.event.data.trigger).toBe('backup');
  const requested = stack.events
    .of('job.requested.daily-reports')
    .find((e) => e.event.data.runId === backup.event.data.runId);
  expect(requested?.event.data.targets).toEqual([FAILING]);
  // only the missing company was generated again
  const again = llm.requests.slice(sinceFix);
  expect(again.length).toBeGreaterThan(0);
  expect(again.every((r) => r.prompt.includes(FAILING))).toBe(true);

  await waitFor(async () => (await coverage())?.covered === 5, { timeout: 10_000, message: 'coverage 5/5' });
  expect(await coverage()).toMatchObject({ covered: 5, total: 5, ratio: 1 });
}, 60_000);
