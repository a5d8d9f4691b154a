import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startNats, type TestServer } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliEnv, cliEnv, main } from '../src/index.js';

/**
 * Reaching a NATS where no Vigil service answers (a stray server on 4222, a stale `.vigil/env`): every message says
 * which NATS it reached, without credentials, and where that URL came from.
 */
describe('vigil names the NATS it reached when nothing answers there', () => {
  let plain: TestServer; // no JetStream: any NATS that is not Vigil's
  let js: TestServer; // JetStream, but none of Vigil's streams

  beforeAll(async () => {
    [plain, js] = await Promise.all([startNats({ jetstream: false }), startNats()]);
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), js?.stop()]);
  });

  const cli = async (env: CliEnv, ...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { env, io: { out: (t) => out.push(t), err: (t) => err.push(t) } });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  /** A checkout whose dev stack env file says `url`. */
  const checkout = (url: string) => {
    const repo = mkdtempSync(path.join(tmpdir(), 'vigil-test-where-'));
    mkdirSync(path.join(repo, '.vigil'));
    writeFileSync(path.join(repo, '.vigil', 'env'), `NATS_URL=${url}\n`);
    return repo;
  };

  it('a service request: the URL and the env file it came from', async () => {
    const repo = checkout(plain.url);
    const r = await cli(cliEnv({}, repo), 'jobs');
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `vigil: no scheduler service answers on scheduler.jobs at ${plain.url} (from the dev stack's env file ${path.join(repo, '.vigil', 'env')}): is it running?`,
    );
  });

  it('NATS_URL with credentials: named without them', async () => {
    const env = cliEnv({ NATS_URL: `nats://alice:s3cret@127.0.0.1:${plain.port}` }, tmpdir());
    const r = await cli(env, 'secrets', 'status');
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `vigil: no secrets service answers on secrets.status at nats://***@127.0.0.1:${plain.port} (from NATS_URL): is it running?`,
    );
    expect(r.err).not.toContain('s3cret');
  });

  it('the default URL: says no NATS_URL and no .vigil/env was found', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-where-'));
    const env = cliEnv({}, dir);
    expect(env.natsUrl).toBe('nats://127.0.0.1:4222');
    // the same words, against a server of ours rather than whatever listens on this machine's 4222
    const r = await cli({ ...env, natsUrl: plain.url }, 'health');
    expect(r.err).toBe(
      `vigil: no scheduler service answers on scheduler.health at ${plain.url} (default: no NATS_URL, and no .vigil/env in ${dir} or a folder above): is it running?`,
    );
  });

  it('JetStream commands: no JetStream, or no Vigil stream, at that NATS', async () => {
    const where = (s: TestServer) => `at ${s.url} (from NATS_URL): is Vigil running there?`;
    const noJs = cliEnv({ NATS_URL: plain.url }, tmpdir());
    expect((await cli(noJs, 'dlq', 'list')).err).toBe(`vigil: no JetStream answers ${where(plain)}`);
    const noStreams = cliEnv({ NATS_URL: js.url }, tmpdir());
    const dlq = await cli(noStreams, 'dlq', 'list');
    expect(dlq.code).toBe(1);
    expect(dlq.err).toBe(`vigil: stream not found ${where(js)}`);
    // a publish no stream takes (after the event bus's own retries, ~5 s)
    const queued = await cli(noStreams, 'trigger', 'nightly', '--reason', 'test', '--queue');
    expect(queued.code).toBe(1);
    expect(queued.err).toBe(`vigil: publish job.trigger.nightly: no JetStream stream takes it ${where(js)}`);
  });

  it('NATS not reachable: the URL (no credentials) and where it came from', async () => {
    const repo = checkout('nats://bob:pw@127.0.0.1:1');
    const r = await cli(cliEnv({}, repo), 'jobs');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^vigil: cannot reach NATS at nats:\/\/\*\*\*@127\.0\.0\.1:1 \(\S+; from the dev stack's env file \S+\.vigil\/env\); is Vigil running\?/,
    );
    expect(r.err).not.toContain('pw');
  });
});
