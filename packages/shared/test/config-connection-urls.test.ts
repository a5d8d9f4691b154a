import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { baseEnvSchema, ConfigError, loadConfig, redisUrlSchema } from '@vigil/shared';

// Contract §3: "A missing or malformed required variable stops the service at start with one message naming
// every bad variable, exit code 78." NATS_URL, NATS_CREDS and REDIS_URL used to be checked for being non-empty
// only: a malformed one ended in a TypeError / ENOENT (exit 1) or a connect loop until the start-up timeout.

const dir = mkdtempSync(path.join(tmpdir(), 'vigil-config-urls-'));
const creds = path.join(dir, 'user.creds');
writeFileSync(creds, '-----BEGIN NATS USER JWT-----\nx\n------END NATS USER JWT------\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(baseEnvSchema, env, { exit: false });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected the environment to be rejected');
}

describe('NATS_URL', () => {
  it.each([
    'nats://127.0.0.1:4222',
    'nats://nats:4222',
    'tls://nats.example.com:4222',
    'ws://127.0.0.1:8080',
    'wss://nats.example.com',
    'nats://user:pass@nats:4222',
    'nats://[::1]:4222',
    '127.0.0.1:4222',
    'localhost',
    'vigil_nats:4222',
    '[::1]:4222',
    'nats://a:4222, nats://b:4222,c:4222',
  ])('accepts %j', (NATS_URL) => {
    expect(loadConfig(baseEnvSchema, { NATS_URL }, { exit: false }).NATS_URL).toBe(NATS_URL);
  });

  it.each([
    ['not a url', 'not a url'],
    ['http://127.0.0.1:4222', 'scheme http://'],
    ['https://nats.example.com', 'scheme https://'],
    ['redis://127.0.0.1:6379', 'scheme redis://'],
    ['nats://', 'names no host'],
    ['nats://host:99999', 'not a valid URL'],
    ['host:99999', 'port over 65535'],
    ['nats://nats:4222/path', 'path or query'],
    ['nats://ok:4222,http://bad:4222', '"http://bad:4222"'],
    [',', 'lists no server'],
  ])('rejects %j naming NATS_URL and the bad entry', (NATS_URL, reason) => {
    const err = problemsOf({ NATS_URL });
    expect(err.problems).toEqual([{ variable: 'NATS_URL', reason: expect.stringContaining(reason) }]);
    expect(err.message).toMatch(/^invalid configuration \(1 problem\): NATS_URL /);
  });

  it('does not echo a password written in a bad entry', () => {
    const err = problemsOf({ NATS_URL: 'http://user:hunter2secret@nats:4222' });
    expect(err.message).toContain('"http://***@nats:4222"');
    expect(err.message).not.toContain('hunter2secret');
  });
});

describe('NATS_CREDS', () => {
  it('accepts a readable file', () => {
    expect(loadConfig(baseEnvSchema, { NATS_CREDS: creds }, { exit: false }).NATS_CREDS).toBe(creds);
  });

  it('rejects a missing file, a directory and (not as root) an unreadable file, naming NATS_CREDS', () => {
    expect(problemsOf({ NATS_CREDS: '/nonexistent/user.creds' }).problems).toEqual([
      {
        variable: 'NATS_CREDS',
        reason: expect.stringMatching(/readable .*"\/nonexistent\/user\.creds" does not exist/),
      },
    ]);
    expect(problemsOf({ NATS_CREDS: dir }).problems[0].reason).toContain('is not a file');
    if (process.getuid?.() !== 0) {
      const locked = path.join(dir, 'locked.creds');
      writeFileSync(locked, 'x');
      chmodSync(locked, 0o000);
      expect(problemsOf({ NATS_CREDS: locked }).problems[0].reason).toContain('is not readable');
    }
  });

  it('is reported with every other bad variable in one message', () => {
    const err = problemsOf({ NATS_URL: 'not a url', NATS_CREDS: '/nonexistent', LOG_LEVEL: 'loud' });
    expect(err.problems.map((p) => p.variable).sort()).toEqual(['LOG_LEVEL', 'NATS_CREDS', 'NATS_URL']);
  });
});

describe('redisUrlSchema', () => {
  it.each(['redis://127.0.0.1:6379', 'rediss://cache.example.com:6380', 'redis://:pw@redis:6379/2', 'redis://redis'])(
    'accepts %j',
    (url) => expect(redisUrlSchema.safeParse(url).success).toBe(true),
  );

  it.each([
    ['not a url', 'must be a redis:// or rediss:// URL'],
    ['http://127.0.0.1:6379', 'must be a redis:// or rediss:// URL'],
    ['127.0.0.1:6379', 'must be a redis:// or rediss:// URL'],
    ['localhost:6379', 'must be a redis:// or rediss:// URL'],
    ['redis://', 'names no host'],
    ['redis://redis:6379/cache', 'database number'],
  ])('rejects %j', (url, reason) => {
    const r = redisUrlSchema.safeParse(url);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].message).toContain(reason);
  });

  it('never echoes the value (it may hold a password)', () => {
    const r = redisUrlSchema.safeParse('http://:hunter2secret@redis:6379');
    expect(JSON.stringify(r.error?.issues)).not.toContain('hunter2secret');
  });
});

describe('a service process with a malformed NATS_URL or NATS_CREDS', () => {
  const loader = new URL('./fixtures/ts-loader.mjs', import.meta.url).href;
  const fixture = fileURLToPath(new URL('./fixtures/demo-service.ts', import.meta.url));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  async function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', loader, fixture], {
      env: { PATH: process.env.PATH ?? '', HTTP_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const err: string[] = [];
    child.stderr?.on('data', (d) => err.push(String(d)));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    return { code, stderr: err.join(''), ms: Date.now() - started };
  }

  it.each([
    [{ NATS_URL: 'not a url' }, ['NATS_URL', '"not a url"']],
    [{ NATS_CREDS: '/nonexistent' }, ['NATS_CREDS', '"/nonexistent" does not exist']],
    [{ NATS_URL: 'http://127.0.0.1:4222', NATS_CREDS: '/nonexistent' }, ['NATS_URL', 'NATS_CREDS', 'http://']],
  ])(
    '%j exits 78 at once with one message naming the variables',
    async (env, names) => {
      const res = await run(env);
      expect(res.code).toBe(78);
      const lines = res.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      const line = JSON.parse(lines[0]);
      expect(line.code).toBe('VIGIL_E_CONFIG');
      for (const name of names) expect(line.msg).toContain(name);
      // not after a connect loop bounded by the start-up timeout
      expect(res.ms).toBeLessThan(15_000);
    },
    30_000,
  );
});
