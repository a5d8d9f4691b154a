import { ConfigError, loadConfig } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { webhooksConfigSchema } from '../src/config.js';

// Contract §3: a malformed variable stops the service at start (exit 78) naming it. REDIS_URL used to be checked
// for being non-empty only.
const load = (env: Record<string, string>) => loadConfig(webhooksConfigSchema, env, { exit: false });

describe('webhooks REDIS_URL', () => {
  it('defaults to redis://127.0.0.1:6379 and accepts redis:// and rediss:// URLs', () => {
    expect(load({}).REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(load({ REDIS_URL: 'redis://redis:6379' }).REDIS_URL).toBe('redis://redis:6379');
    expect(load({ REDIS_URL: 'rediss://cache.example.com' }).REDIS_URL).toBe('rediss://cache.example.com');
  });

  it.each(['http://127.0.0.1:6379', 'redis:6379', 'not a url', 'redis://redis:6379/cache'])(
    'rejects %j naming REDIS_URL with the other bad variables',
    (REDIS_URL) => {
      let error: unknown;
      try {
        load({ REDIS_URL, NATS_CREDS: '/nonexistent/user.creds' });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems.map((p) => p.variable).sort()).toEqual(['NATS_CREDS', 'REDIS_URL']);
      expect(problems.find((p) => p.variable === 'REDIS_URL')?.reason).toMatch(/redis:\/\//);
    },
  );
});
