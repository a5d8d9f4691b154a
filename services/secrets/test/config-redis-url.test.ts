import { ConfigError, loadConfig } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { secretsConfigSchema } from '../src/config.js';

// Contract §3: a malformed variable stops the service at start (exit 78) naming it. REDIS_URL used to be checked
// for being non-empty only.
const load = (env: Record<string, string>) => loadConfig(secretsConfigSchema, env, { exit: false });

describe('secrets REDIS_URL', () => {
  it('defaults to redis://127.0.0.1:6379 and accepts redis:// and rediss:// URLs', () => {
    expect(load({}).REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(load({ REDIS_URL: 'rediss://:pw@cache.example.com:6380/1' }).REDIS_URL).toBe(
      'rediss://:pw@cache.example.com:6380/1',
    );
  });

  it.each(['http://127.0.0.1:6379', '127.0.0.1:6379', 'not a url', 'redis://'])(
    'rejects %j naming REDIS_URL with the other bad variables',
    (REDIS_URL) => {
      let error: unknown;
      try {
        load({ REDIS_URL, NATS_URL: 'http://nats:4222' });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems.map((p) => p.variable).sort()).toEqual(['NATS_URL', 'REDIS_URL']);
      expect(problems.find((p) => p.variable === 'REDIS_URL')?.reason).toMatch(/redis:\/\//);
    },
  );
});
