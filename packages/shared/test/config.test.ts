import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  baseEnvSchema,
  booleanSchema,
  createLogger,
  ConfigError,
  durationSchema,
  envListSchema,
  ErrorCode,
  httpPortSchema,
  loadConfig,
  parseDuration,
  ValidationError,
} from '@vigil/shared';

const schema = baseEnvSchema.extend({
  HTTP_PORT: httpPortSchema(8080),
  VIGIL_API_TOKEN: z.string(),
  SMTP_URL: z.url(),
  ALERT_GROUP_INTERVAL: durationSchema.default(300_000),
  WEBHOOKS_ALLOW_PRIVATE: booleanSchema(false),
  WEBHOOKS_ALLOWLIST: envListSchema(),
});

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const cfg = loadConfig(schema, { VIGIL_API_TOKEN: 't', SMTP_URL: 'smtp://127.0.0.1:1025' }, { exit: false });
    expect(cfg).toMatchObject({
      NATS_URL: 'nats://127.0.0.1:4222',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      HTTP_PORT: 8080,
      ALERT_GROUP_INTERVAL: 300_000,
      WEBHOOKS_ALLOW_PRIVATE: false,
      WEBHOOKS_ALLOWLIST: [],
    });
  });

  it('parses ports, durations, booleans and lists; 0 means a random port', () => {
    const cfg = loadConfig(
      schema,
      {
        VIGIL_API_TOKEN: 't',
        SMTP_URL: 'smtp://h:25',
        HTTP_PORT: '0',
        ALERT_GROUP_INTERVAL: '90s',
        WEBHOOKS_ALLOW_PRIVATE: 'yes',
        WEBHOOKS_ALLOWLIST: 'a.example, b.example,,',
      },
      { exit: false },
    );
    expect(cfg.HTTP_PORT).toBe(0);
    expect(cfg.ALERT_GROUP_INTERVAL).toBe(90_000);
    expect(cfg.WEBHOOKS_ALLOW_PRIVATE).toBe(true);
    expect(cfg.WEBHOOKS_ALLOWLIST).toEqual(['a.example', 'b.example']);
  });

  it('names every missing and malformed variable in one error, without their values', () => {
    let error: unknown;
    try {
      loadConfig(
        schema,
        { HTTP_PORT: 'eighty', LOG_LEVEL: 'loud', ALERT_GROUP_INTERVAL: 'soon', SMTP_URL: '' },
        { exit: false },
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.code).toBe(ErrorCode.CONFIG);
    expect(e.problems.map((p) => p.variable).sort()).toEqual(
      ['ALERT_GROUP_INTERVAL', 'HTTP_PORT', 'LOG_LEVEL', 'SMTP_URL', 'VIGIL_API_TOKEN'].sort(),
    );
    expect(e.message).toMatch(/VIGIL_API_TOKEN is required but not set/);
    expect(e.message).toMatch(/SMTP_URL is required but not set/);
    expect(e.message).not.toMatch(/eighty/);
  });

  it('exits 78 with every missing name in one message', () => {
    const fixture = fileURLToPath(new URL('./fixtures/load-config.ts', import.meta.url));
    const loader = new URL('./fixtures/ts-loader.mjs', import.meta.url).href;
    const res = spawnSync(process.execPath, ['--import', loader, fixture], {
      env: { PATH: process.env.PATH, HTTP_PORT: 'x' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status).toBe(78);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]);
    expect(line.code).toBe('VIGIL_E_CONFIG');
    for (const name of ['VIGIL_API_TOKEN', 'SMTP_URL', 'HTTP_PORT']) expect(line.msg).toContain(name);
    expect(res.stdout).not.toContain('should not run');
  });
});

describe('secret-looking variables', () => {
  it('never reach a log line once the config is loaded', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const env = {
      VIGIL_API_TOKEN: 'tok-0123456789abcdef',
      SMTP_URL: 'smtp://mail:25',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG',
      SOME_FLAG_TOKEN: 'true',
      // the shell's working directory: not a password, and stack traces name files under it
      PWD: '/srv/vigil-app',
    };
    const cfg = loadConfig(schema, env, { exit: false });
    const log = createLogger({ service: 't', destination });
    log.info(`token is ${cfg.VIGIL_API_TOKEN}`);
    log.warn({ detail: `aws said ${env.AWS_SECRET_ACCESS_KEY}`, flag: true }, 'x');
    const all = lines.join('');
    expect(all).not.toContain('tok-0123456789abcdef');
    expect(all).not.toContain('wJalrXUtnFEMI');
    expect(all).toContain('"flag":true');
    log.error({ err: new Error('boom'), file: '/srv/vigil-app/dist/main.js' }, 'paths stay readable');
    expect(lines.join('')).toContain('/srv/vigil-app/dist/main.js');
  });
});

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['1500', 1500],
  ])('%s -> %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'soon', '5 parsecs', '10x', 'm5'])('rejects %j with a ValidationError', (text) => {
    expect(() => parseDuration(text)).toThrow(ValidationError);
  });
});
