import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandHandler } from '../src/handlers/command-handler.js';
import { handlerContext } from './helpers.js';

function context(options: Record<string, unknown>, signal: AbortSignal, progress: (note: string) => void) {
  const baseDir = mkdtempSync(path.join(tmpdir(), 'vigil-test-command-'));
  const ctx = handlerContext({ runId: 'cmd-1', job: 'cmd', options, baseDir, signal, progress });
  return { ctx, baseDir };
}

describe('command handler', () => {
  it('reports progress (a heartbeat and a log line) at most once a second, however chatty the output', async () => {
    let progress = 0;
    // 40 lines, 10 ms apart: 40 separate chunks in well under a second.
    const script =
      'let i = 0; const t = setInterval(() => { console.log("line " + i); if (++i === 40) clearInterval(t); }, 10);';
    const { ctx } = context({ run: [process.execPath, '-e', script] }, new AbortController().signal, () => {
      progress++;
    });
    const result = await commandHandler().run(ctx);
    expect(result?.details?.stdoutTail).toContain('line 39');
    expect(progress).toBe(1);
  });

  it("a command never sees Vigil's credentials: no webhook URL or OTLP headers, NATS_URL without its password", async () => {
    const set = {
      NATS_URL: 'nats://vigil:s3cret-Pw@nats-1:4222,nats://nats-2:4222',
      ALERT_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/s3cret-Tok',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer s3cret-Otlp',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-api-key=s3cret-Traces',
      SMTP_URL: 'smtp://u:s3cret-Smtp@mail:587',
    };
    const saved = Object.fromEntries(Object.keys(set).map((k) => [k, process.env[k]]));
    Object.assign(process.env, set);
    try {
      // Only what the test reads: a whole environment can be longer than the output tail kept.
      const script =
        'const e = process.env; console.log(JSON.stringify({ leaked: Object.keys(e).filter((k) => e[k].includes("s3cret")), NATS_URL: e.NATS_URL, VIGIL_RUN_ID: e.VIGIL_RUN_ID }))';
      const { ctx } = context({ run: [process.execPath, '-e', script] }, new AbortController().signal, () => {});
      const result = await commandHandler().run(ctx);
      const env = JSON.parse(String(result?.details?.stdoutTail));
      expect(env.leaked).toEqual([]);
      expect(env.NATS_URL).toBe('nats://nats-1:4222,nats://nats-2:4222');
      expect(env.VIGIL_RUN_ID).toBe('cmd-1');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('spawns nothing when the run was cancelled before it started', async () => {
    const abort = new AbortController();
    const reason = new Error('cancelled before start');
    abort.abort(reason);
    const { ctx, baseDir } = context({ run: 'touch spawned' }, abort.signal, () => undefined);
    await expect(commandHandler().run(ctx)).rejects.toBe(reason);
    expect(existsSync(path.join(baseDir, 'spawned'))).toBe(false);
  });

  it('a cancel ends a run whose shell forked a long-lived process, without waiting for it', async () => {
    const abort = new AbortController();
    let progressed!: () => void;
    const printed = new Promise<void>((resolve) => {
      progressed = resolve;
    });
    const { ctx } = context({ run: 'echo started; sleep 9999; echo never' }, abort.signal, () => progressed());
    const run = commandHandler().run(ctx);
    await printed;
    const reason = new Error('cancelled');
    const t0 = Date.now();
    abort.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
