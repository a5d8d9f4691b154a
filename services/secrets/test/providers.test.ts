import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, envVariableFor, PermanentError, SECRET_NOT_FOUND_TYPE, TransientError } from '@vigil/shared';
import { type FakeSecretsManager, startFakeSecretsManager } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsProvider } from '../src/providers/aws-provider.js';
import { createEnvProvider } from '../src/providers/env-provider.js';
import { createFileProvider } from '../src/providers/file-provider.js';

describe('aws provider (real SDK against the fake Secrets Manager)', () => {
  let fake: FakeSecretsManager;
  const provider = () =>
    createAwsProvider({
      region: 'us-east-1',
      endpoint: fake.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 2,
    });

  beforeAll(async () => {
    fake = await startFakeSecretsManager({
      plain: 'p-value',
      json: { user: 'u', password: 'p' },
      bin: new Uint8Array([0xff, 0x00, 0xfe]),
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('reads SecretString (JSON stays text) and SecretBinary', async () => {
    const p = provider();
    expect(await p.get('plain')).toEqual({ value: 'p-value', version: 'v1' });
    expect(JSON.parse((await p.get('json')).value)).toEqual({ user: 'u', password: 'p' });
    expect(await p.get('bin')).toEqual({
      value: Buffer.from([0xff, 0, 0xfe]).toString('base64'),
      encoding: 'base64',
      version: 'v1',
    });
  });

  it('maps ResourceNotFoundException to SECRET_NOT_FOUND and 500 to a transient provider error', async () => {
    const p = provider();
    const nf = await p.get('missing').catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(PermanentError);
    expect((nf as PermanentError).code).toBe(ErrorCode.SECRET_NOT_FOUND);
    fake.resetCalls();
    fake.failWithInternalError();
    const err = await p.get('plain').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).details).toMatchObject({ type: 'InternalServiceError' });
    expect(fake.calls('plain')).toBe(2); // the SDK's own attempts are capped
    fake.recover();
  });
});

describe('file provider', () => {
  it('reads YAML, serves objects as JSON text, and re-reads the file when it changes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-secrets-file-'));
    const file = path.join(dir, 'secrets.yaml');
    writeFileSync(file, 'api-key: one\ndb:\n  user: u\n  password: p\n');
    const p = createFileProvider(file);
    expect((await p.get('api-key')).value).toBe('one');
    expect(JSON.parse((await p.get('db')).value)).toEqual({ user: 'u', password: 'p' });
    writeFileSync(file, 'api-key: two-changed\n');
    expect((await p.get('api-key')).value).toBe('two-changed');
    await expect(p.get('db')).rejects.toMatchObject({ code: ErrorCode.SECRET_NOT_FOUND });
    const nf = (await p.get('db').catch((e: unknown) => e)) as PermanentError;
    expect(nf).toBeInstanceOf(PermanentError);
    expect(nf.message).toBe(`secret "db" does not exist in the file provider (${file})`);
  });

  it('a missing or broken file is a transient provider error that does not quote the file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-secrets-file-'));
    const missingPath = path.join(dir, 'none.json');
    const missing = createFileProvider(missingPath);
    await expect(missing.get('x')).rejects.toMatchObject({ code: ErrorCode.SECRETS_PROVIDER });
    // named by the file, in words, for every consumer (events, status, logs)
    const enoent = (await missing.get('x').catch((e: unknown) => e)) as TransientError;
    expect(enoent.message).toBe(
      `file provider error ENOENT for secret "x": secrets file ${missingPath} does not exist`,
    );
    expect(enoent.details).toMatchObject({ type: 'ENOENT', reason: `secrets file ${missingPath} does not exist` });
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, '{"x": "leaky-secret-value",');
    const err = (await createFileProvider(file)
      .get('x')
      .catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('leaky');
  });
});

describe('env provider', () => {
  it('maps names to VIGIL_SECRET_<NAME>', async () => {
    expect(envVariableFor('db-password.prod')).toBe('VIGIL_SECRET_DB_PASSWORD_PROD');
    const p = createEnvProvider({ VIGIL_SECRET_DB_PASSWORD: 'x' });
    expect((await p.get('db-password')).value).toBe('x');
    await expect(p.get('nope')).rejects.toBeInstanceOf(PermanentError);
    // what the notifier's advice follows: the code, and the one type every provider gives a missing secret
    await expect(p.get('nope')).rejects.toMatchObject({
      code: ErrorCode.SECRET_NOT_FOUND,
      details: { type: SECRET_NOT_FOUND_TYPE },
      message: expect.stringContaining('VIGIL_SECRET_NOPE is unset'),
    });
  });
});
