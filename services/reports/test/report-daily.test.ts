import { type FakeLlm, collectEvents, startFakeLlm, startNats, type TestServer } from '@vigil/shared/testing';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobsDir, requestRun, startRunner } from './helpers.js';

const targets = Array.from({ length: 10 }, (_, i) => `company-${i + 1}`);

describe('report.daily against a fake OpenAI-compatible endpoint', () => {
  let nats: TestServer;
  let nc: NatsConnection;
  let llm: FakeLlm;
  let service: Awaited<ReturnType<typeof startRunner>>;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    llm = await startFakeLlm();
    const common = `endpoint: ${llm.url}, baseDelayMs: 20, maxDelayMs: 200, retries: 1`;
    const { file } = jobsDir(`jobs:
  fallback-report:
    handler: report.daily
    targets: [acme]
    retries: { max: 0 }
    report: { ${common}, models: [primary-a, fallback-a] }
  ratelimited-report:
    handler: report.daily
    targets: [acme]
    retries: { max: 0 }
    report: { ${common}, models: [busy-b, fallback-b] }
  from-secrets:
    handler: report.daily
    targets: { secret: companies }
    retries: { max: 0 }
    report: { ${common}, models: [secret-model], apiKey: "\${secret:openai.key}" }
  empty-answer:
    handler: report.daily
    targets: [acme]
    retries: { max: 0 }
    report: { ${common}, models: [empty-e, fallback-e] }
  berlin-report:
    handler: report.daily
    timezone: Europe/Berlin
    targets: [acme]
    retries: { max: 0 }
    report: { ${common}, models: [berlin-model], prompt: "Report for {{target}} on {{date}}" }
  ten-targets:
    handler: report.daily
    targets: [${targets.join(', ')}]
    retries: { max: 0 }
    report: { ${common}, models: [main-c, backup-c], prompt: "Report for {{target}} on {{date}}" }
`);
    // A stand-in for the secrets service's request/reply endpoint (contract §4: secrets.get).
    const secrets: Record<string, string> = { companies: '["initech","umbrella"]', openai: '{"key":"sk-test-123"}' };
    nc.subscribe('secrets.get', {
      callback: (_e, m) => {
        const { name } = JSON.parse(new TextDecoder().decode(m.data));
        m.respond(
          new TextEncoder().encode(
            JSON.stringify({ name, value: secrets[name], stale: false, ageSeconds: 1, source: 'file' }),
          ),
        );
      },
    });
    service = await startRunner(nats.url, file, { LOG_LEVEL: 'error' });
  });

  afterAll(async () => {
    await service?.stop();
    await llm?.close();
    await nc?.close();
    await nats?.stop();
  });

  it('falls back when the primary model answers 500, succeeds and records the model', async () => {
    llm.plan('primary-a', { status: 500 });
    const events = collectEvents(nc, 'job.*.fallback-report');
    await requestRun(nc, 'fallback-report', 'fb-1');
    const [done] = await events.waitFor('job.succeeded', 1, 15_000);
    expect(done.event.data.details.model).toBe('fallback-a');
    expect(done.event.data.details.models).toEqual({ acme: 'fallback-a' });
    // the primary was retried (1 retry) before falling back
    expect(llm.requests.filter((r) => r.model === 'primary-a')).toHaveLength(2);
    expect(events.of('job.failed')).toHaveLength(0);
  });

  it('waits for Retry-After on a 429 and then succeeds on the same model', async () => {
    llm.plan('busy-b', [{ status: 429, retryAfter: 1 }, {}]);
    const events = collectEvents(nc, 'job.*.ratelimited-report');
    await requestRun(nc, 'ratelimited-report', 'rl-1');
    const [done] = await events.waitFor('job.succeeded', 1, 15_000);
    expect(done.event.data.details.model).toBe('busy-b');
    const calls = llm.requests.filter((r) => r.model === 'busy-b');
    expect(calls).toHaveLength(2);
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(950);
    expect(llm.requests.filter((r) => r.model === 'fallback-b')).toHaveLength(0);
  });

  it('an empty answer is retried on the same model (transient), not a reason to fall back at once', async () => {
    llm.plan('empty-e', [{ text: '' }, {}]);
    const events = collectEvents(nc, 'job.*.empty-answer');
    await requestRun(nc, 'empty-answer', 'ea-1');
    const [done] = await events.waitFor('job.succeeded', 1, 15_000);
    expect(done.event.data.details.model).toBe('empty-e');
    expect(llm.requests.filter((r) => r.model === 'empty-e')).toHaveLength(2);
    expect(llm.requests.filter((r) => r.model === 'fallback-e')).toHaveLength(0);
  });

  it("files a report under its scheduled day in the job's time zone, also for a backup after midnight UTC", async () => {
    const events = collectEvents(nc, 'job.*.berlin-report');
    // 00:30 in Berlin on 10 March is 23:30 UTC on 9 March; its backup runs at 01:10 Berlin time.
    await requestRun(nc, 'berlin-report', 'bl-1', { scheduledAt: '2025-03-09T23:30:00.000Z', trigger: 'schedule' });
    await requestRun(nc, 'berlin-report', 'bl-2', { scheduledAt: '2025-03-10T00:10:00.000Z', trigger: 'backup' });
    const done = await events.waitFor('job.succeeded', 2, 15_000);
    for (const d of done) {
      expect(d.event.data.details.date).toBe('2025-03-10');
      expect(d.event.data.details.artifacts).toEqual(['berlin-report/2025-03-10/acme.md']);
    }
    const prompts = llm.requests.filter((r) => r.model === 'berlin-model').map((r) => r.prompt);
    expect(prompts).toEqual(['Report for acme on 2025-03-10', 'Report for acme on 2025-03-10']);
    const os = await nc.jetstream().views.os('reports');
    expect(await os.info('berlin-report/2025-03-10/acme.md')).toBeTruthy();
  });

  it('10 targets with 2 failing permanently: job.partial naming exactly those 2, 8 artifacts stored', async () => {
    const broken = new Set(['company-3', 'company-7']);
    const plan = (req: { prompt: string }) =>
      [...broken].some((b) => req.prompt.includes(`${b} `)) ? { status: 500 } : {};
    llm.plan('main-c', plan);
    llm.plan('backup-c', plan);
    const events = collectEvents(nc, 'job.*.ten-targets');
    await requestRun(nc, 'ten-targets', 'ten-1');
    const [partial] = await events.waitFor('job.partial', 1, 20_000);
    const data = partial.event.data;
    expect(data.failures.map((f: { target: string }) => f.target).sort()).toEqual(['company-3', 'company-7']);
    // the failure says what each model answered, not only that they all failed
    expect(data.failures[0].error.message).toMatch(
      /^every model failed \(main-c -> backup-c\): main-c: .*500.*; backup-c: .*500/,
    );
    expect(data.stats).toEqual({ targets: 10, succeeded: 8, failed: 2, skipped: 0 });
    expect(data.details.artifacts).toHaveLength(8);

    const os = await nc.jetstream().views.os('reports');
    const list = await os.list();
    const names = list
      .map((o) => o.name)
      .filter((n) => n.startsWith('ten-targets/'))
      .sort();
    const date = new Date().toISOString().slice(0, 10);
    expect(names).toEqual(
      targets
        .filter((t) => !broken.has(t))
        .map((t) => `ten-targets/${date}/${t}.md`)
        .sort(),
    );
    const text = new TextDecoder().decode((await os.getBlob(`ten-targets/${date}/company-1.md`)) ?? new Uint8Array());
    expect(text).toContain('company-1');
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal secret reference, not a template
  it('reads targets from a secret and resolves ${secret:NAME.field} in options at run time', async () => {
    const events = collectEvents(nc, 'job.*.from-secrets');
    await requestRun(nc, 'from-secrets', 'sec-1');
    const [done] = await events.waitFor('job.succeeded', 1, 15_000);
    expect(Object.keys(done.event.data.details.models).sort()).toEqual(['initech', 'umbrella']);
    const calls = llm.requests.filter((r) => r.model === 'secret-model');
    expect(calls.map((c) => c.headers.authorization)).toEqual(['Bearer sk-test-123', 'Bearer sk-test-123']);
    expect(JSON.stringify(done.event)).not.toContain('sk-test-123');
  });
});
