import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { connect, headers, type NatsConnection } from 'nats';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBus,
  extractTraceContext,
  injectTraceHeaders,
  registerSecretValue,
  unregisterSecretValue,
  withSpan,
} from '@vigil/shared';
import {
  type InMemoryTracing,
  installInMemoryTracing,
  startNats,
  type TestServer,
  waitFor,
} from '@vigil/shared/testing';

const logger = pino({ level: 'silent' });
let nats: TestServer;
let tracing: InMemoryTracing;
const conns: NatsConnection[] = [];

beforeAll(async () => {
  tracing = installInMemoryTracing('tracing-test');
  nats = await startNats();
});
afterAll(async () => {
  for (const nc of conns) await nc.close();
  await tracing.shutdown();
  await nats.stop();
});

async function bus(service: string): Promise<EventBus> {
  const nc = await connect({ servers: nats.url, name: service });
  conns.push(nc);
  const b = new EventBus(nc, { service, logger });
  await b.ensureStreams();
  return b;
}

describe('trace context across NATS', () => {
  it('injects and extracts W3C traceparent through NATS headers', async () => {
    await withSpan('root', async (span) => {
      const h = headers();
      injectTraceHeaders(h);
      expect(h.get('traceparent')).toContain(span.spanContext().traceId);
      const remote = trace.getSpanContext(extractTraceContext(h));
      expect(remote?.traceId).toBe(span.spanContext().traceId);
      expect(remote?.isRemote).toBe(true);
    });
  });

  it('a trace started by the publisher continues in the consumer on another connection, and in its nested publishes', async () => {
    const scheduler = await bus('scheduler');
    const runner = await bus('reports');
    let consumerTrace: string | undefined;
    await runner.consume({
      subject: 'job.requested.traced',
      durable: 'traced',
      handler: async (e, ctx) => {
        consumerTrace = trace.getSpanContext(context.active())?.traceId;
        expect(ctx.log).toBeTruthy();
        await runner.publish('notify.send', { severity: 'INFO', title: 'done', body: e.id });
      },
    });
    const seen: Record<string, string>[] = [];
    conns[0].subscribe('notify.send', {
      callback: (_e, m) => {
        const r: Record<string, string> = {};
        for (const [k, v] of m.headers ?? []) r[k] = v.join(',');
        seen.push(r);
      },
    });
    let rootTrace = '';
    await withSpan(
      'cron slot',
      async (span) => {
        rootTrace = span.spanContext().traceId;
        await scheduler.publish('job.requested.traced', {
          runId: 'run-1',
          job: 'traced',
          attempt: 1,
          trigger: 'schedule',
          scheduledAt: new Date().toISOString(),
          status: 'requested',
        });
      },
      { kind: SpanKind.INTERNAL },
    );
    await waitFor(() => seen.length === 1);
    expect(consumerTrace).toBe(rootTrace);
    expect(seen[0].traceparent).toContain(rootTrace);
    const spans = await waitFor(() => {
      const s = tracing.spans();
      return s.some((x) => x.name === 'publish notify.send') ? s : undefined;
    });
    const producer = spans.find((s) => s.name === 'publish job.requested.traced');
    const consumer = spans.find((s) => s.name === 'process job.requested.traced');
    expect(producer?.kind).toBe(SpanKind.PRODUCER);
    expect(consumer?.kind).toBe(SpanKind.CONSUMER);
    expect(consumer?.spanContext().traceId).toBe(rootTrace);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    const nestedPub = spans.find((s) => s.name === 'publish notify.send');
    expect(nestedPub?.spanContext().traceId).toBe(rootTrace);
    expect(nestedPub?.parentSpanContext?.spanId).toBe(consumer?.spanContext().spanId);
    await scheduler.drain();
    await runner.drain();
  });

  it('a trace started in another process continues here (child process publishes with traceparent)', async () => {
    const runner = await bus('reports-2');
    let consumerTrace: string | undefined;
    await runner.consume({
      subject: 'job.trigger.child',
      durable: 'child',
      handler: async () => {
        consumerTrace = trace.getSpanContext(context.active())?.traceId;
      },
    });
    const natsPath = createRequire(import.meta.url).resolve('nats');
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-child-'));
    const script = path.join(dir, 'publisher.mjs');
    writeFileSync(
      script,
      `import nats from ${JSON.stringify(natsPath)};
const { connect, headers } = nats;
const traceId = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
const spanId = [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('');
const nc = await connect({ servers: process.argv[2] });
const h = headers();
h.set('traceparent', '00-' + traceId + '-' + spanId + '-01');
h.set('Nats-Msg-Id', 'child-1');
const event = { specversion: '1.0', id: 'child-1', source: 'vigil/cli', type: 'vigil.job.trigger', time: new Date().toISOString(),
  subject: 'job.trigger.child', datacontenttype: 'application/json', data: { reason: 'from another process' } };
await nc.jetstream().publish('job.trigger.child', new TextEncoder().encode(JSON.stringify(event)), { headers: h });
console.log(JSON.stringify({ traceId, spanId }));
await nc.close();
`,
    );
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [script, nats.url], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`child exited ${code}`))));
    });
    const { traceId, spanId } = JSON.parse(out.trim());
    await waitFor(() => consumerTrace);
    expect(consumerTrace).toBe(traceId);
    const consumer = await waitFor(() => tracing.spans().find((s) => s.name === 'process job.trigger.child'));
    expect(consumer.parentSpanContext?.spanId).toBe(spanId);
    await runner.drain();
  });

  it('a failed span carries the error without secret values (spans leave the process for Jaeger)', async () => {
    registerSecretValue('sk-span-secret-42');
    try {
      await expect(
        withSpan('leaky', () => {
          throw new Error('upstream refused key sk-span-secret-42');
        }),
      ).rejects.toThrow();
      const span = await waitFor(() => tracing.spans().find((s) => s.name === 'leaky'));
      expect(span.status.message).toBe('upstream refused key [REDACTED]');
      expect(JSON.stringify(span.events)).not.toContain('sk-span-secret-42');
      expect(JSON.stringify(span.events)).toContain('[REDACTED]');
    } finally {
      unregisterSecretValue('sk-span-secret-42');
    }
  });
});
