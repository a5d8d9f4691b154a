import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { envSecretVariables, providerKind, secretsConfigSchema, ttlFor } from '../src/config.js';

const load = (env: Record<string, string>) => loadConfig(secretsConfigSchema, env, { exit: false });

describe('secrets config', () => {
  it('defaults: file provider without AWS_REGION, aws with it; 1 h TTL, 7 d max stale, 30 min warming', () => {
    const c = load({});
    expect(providerKind(c)).toBe('file');
    expect(providerKind(load({ AWS_REGION: 'eu-central-1' }))).toBe('aws');
    expect(c).toMatchObject({
      SECRETS_TTL: 3_600_000,
      SECRETS_MAX_STALE: 604_800_000,
      SECRETS_WARM_INTERVAL: 1_800_000,
    });
    expect(c.HTTP_PORT).toBe(8083);
  });

  it('per-secret TTL overrides', () => {
    const ttl = ttlFor(load({ SECRETS_TTL: '10m', SECRETS_TTL_OVERRIDES: 'db-password=30s, api/key=2h' }));
    expect(ttl('db-password')).toBe(30_000);
    expect(ttl('api/key')).toBe(7_200_000);
    expect(ttl('other')).toBe(600_000);
  });

  it('names every bad variable, never echoing a key', () => {
    const badKey = randomBytes(16).toString('base64');
    const err = (() => {
      try {
        load({ SECRETS_CACHE_KEY: badKey, SECRETS_TTL_OVERRIDES: 'oops', SECRETS_PROVIDER: 'vault' });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('SECRETS_CACHE_KEY');
    expect(err.message).toContain('SECRETS_TTL_OVERRIDES');
    expect(err.message).toContain('SECRETS_PROVIDER');
    expect(err.message).not.toContain(badKey);
  });

  it('collects VIGIL_SECRET_* for the env provider', () => {
    expect(envSecretVariables({ VIGIL_SECRET_DB: 'x', OTHER: 'y' })).toEqual({ VIGIL_SECRET_DB: 'x' });
  });
});
