import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, ErrorCode, natsCheck } from '@vigil/shared';
import { startNats, type TestServer, waitFor } from '@vigil/shared/testing';

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  [a, b] = await Promise.all([startNats({ jetstream: false }), startNats({ jetstream: false })]);
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe('connectNats', () => {
  it('logs disconnect and reconnect as structured lines and reports readiness from the link state', async () => {
    const { lines, logger } = capture();
    const nc = await connectNats({ servers: a.url, name: 'connect-test', logger, reconnectTimeWaitMs: 50 });
    await natsCheck(nc);
    expect(lines.some((l) => l.msg === 'nats connected' && l.name === 'connect-test')).toBe(true);
    await a.kill();
    await waitFor(() => lines.some((l) => l.msg === 'nats disconnected; reconnecting'));
    await expect(natsCheck(nc)).rejects.toMatchObject({ code: ErrorCode.NATS_UNAVAILABLE });
    await a.restart();
    await waitFor(() => lines.some((l) => l.msg === 'nats reconnected'), 15_000);
    await natsCheck(nc);
    await nc.close();
    await expect(natsCheck(nc)).rejects.toMatchObject({ code: ErrorCode.NATS_UNAVAILABLE });
    const warn = lines.find((l) => l.msg === 'nats disconnected; reconnecting');
    expect(warn?.level).toBe(40);
    expect(warn?.component).toBe('nats');
  });

  it('accepts a comma-separated server list and fails over to the live one', async () => {
    const { logger } = capture();
    const nc = await connectNats({ servers: `${b.url}, ${a.url}`, name: 'list', logger, reconnectTimeWaitMs: 50 });
    const first = nc.getServer();
    await (first.endsWith(`:${b.port}`) ? b : a).kill();
    await waitFor(async () => {
      await natsCheck(nc, 300);
      return nc.getServer() !== first;
    }, 15_000);
    await nc.close();
    await Promise.all([a.start(), b.start()]);
  });
});
