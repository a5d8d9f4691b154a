import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, natsWhere, redactNatsUrl } from '../src/config.js';

describe('the CLI environment', () => {
  it('finds the dev stack from any folder of the repo: the nearest .vigil/env up from the working directory', () => {
    const repo = mkdtempSync(path.join(tmpdir(), 'vigil-cli-env-'));
    mkdirSync(path.join(repo, '.vigil'));
    writeFileSync(path.join(repo, '.vigil', 'env'), 'VIGIL_API_TOKEN=x\nNATS_URL=nats://127.0.0.1:45678\n');
    const deep = path.join(repo, 'services', 'scheduler', 'src');
    mkdirSync(deep, { recursive: true });
    expect(cliEnv({}, repo).natsUrl).toBe('nats://127.0.0.1:45678');
    expect(cliEnv({}, deep).natsUrl).toBe('nats://127.0.0.1:45678');
    // NATS_URL given: it wins
    expect(cliEnv({ NATS_URL: 'nats://nats:4222' }, deep).natsUrl).toBe('nats://nats:4222');
    // outside any dev stack: the contract's default
    expect(cliEnv({}, tmpdir()).natsUrl).toBe('nats://127.0.0.1:4222');
  });

  it('knows how it was run, for the commands it prints to paste', () => {
    expect(cliEnv({ VIGIL_CLI: '/tmp/stack b/vigil' }, tmpdir()).command).toEqual(['/tmp/stack b/vigil']);
    expect(cliEnv({ npm_command: 'exec' }, tmpdir()).command).toEqual(['npx', 'vigil']);
    expect(cliEnv({}, tmpdir()).command).toEqual(['vigil']);
  });

  it('follows VIGIL_STATE_DIR to a second stack, as npm start does', () => {
    const repo = mkdtempSync(path.join(tmpdir(), 'vigil-cli-env-'));
    mkdirSync(path.join(repo, '.vigil'));
    writeFileSync(path.join(repo, '.vigil', 'env'), 'NATS_URL=nats://127.0.0.1:45678\n');
    mkdirSync(path.join(repo, 'stack-b'));
    writeFileSync(path.join(repo, 'stack-b', 'env'), 'NATS_URL=nats://127.0.0.1:45679\n');
    expect(cliEnv({ VIGIL_STATE_DIR: 'stack-b' }, repo).natsUrl).toBe('nats://127.0.0.1:45679');
    expect(cliEnv({ VIGIL_STATE_DIR: path.join(repo, 'stack-b') }, tmpdir()).natsUrl).toBe('nats://127.0.0.1:45679');
    // a state dir without a stack in it: the contract's default, not the checkout's other stack
    expect(cliEnv({ VIGIL_STATE_DIR: path.join(repo, 'none') }, repo).natsUrl).toBe('nats://127.0.0.1:4222');
  });

  it('says where the NATS URL came from, for messages about what answers there', () => {
    const repo = mkdtempSync(path.join(tmpdir(), 'vigil-cli-env-'));
    const deep = path.join(repo, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    // no NATS_URL and no .vigil/env anywhere up: the default, and why
    expect(cliEnv({}, deep)).toMatchObject({
      natsUrl: 'nats://127.0.0.1:4222',
      natsUrlSource: `default: no NATS_URL, and no .vigil/env in ${deep} or a folder above`,
    });
    mkdirSync(path.join(repo, '.vigil'));
    writeFileSync(path.join(repo, '.vigil', 'env'), 'VIGIL_API_TOKEN=x\n');
    expect(cliEnv({}, deep).natsUrlSource).toBe(
      `default: no NATS_URL, and the dev stack's env file ${path.join(repo, '.vigil', 'env')} has no NATS_URL= line`,
    );
    writeFileSync(path.join(repo, '.vigil', 'env'), 'NATS_URL=nats://127.0.0.1:45678\n');
    expect(cliEnv({}, deep).natsUrlSource).toBe(`from the dev stack's env file ${path.join(repo, '.vigil', 'env')}`);
    expect(cliEnv({ NATS_URL: 'nats://nats:4222' }, deep).natsUrlSource).toBe('from NATS_URL');
    expect(cliEnv({ VIGIL_STATE_DIR: 'none' }, repo).natsUrlSource).toBe(
      `default: no NATS_URL, and no dev stack env file ${path.join(repo, 'none', 'env')} (VIGIL_STATE_DIR=none)`,
    );
  });

  it('prints a NATS URL without its credentials', () => {
    expect(redactNatsUrl('nats://alice:s3cret@nats.internal:4222')).toBe('nats://***@nats.internal:4222');
    expect(redactNatsUrl('tls://tok3n@a:4222, nats://b:4222,c:4222')).toBe('tls://***@a:4222,nats://b:4222,c:4222');
    expect(redactNatsUrl('u:p@127.0.0.1:4222')).toBe('***@127.0.0.1:4222');
    expect(redactNatsUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(natsWhere({ natsUrl: 'nats://u:p@h:1', natsUrlSource: 'from NATS_URL' })).toBe(
      'nats://***@h:1 (from NATS_URL)',
    );
    expect(natsWhere({ natsUrl: 'nats://h:1' })).toBe('nats://h:1');
  });

  it('records who triggered: USER, else USERNAME, else the account running it', () => {
    expect(cliEnv({ USER: 'alice' }).userName).toBe('alice');
    expect(cliEnv({ USERNAME: 'bob' }).userName).toBe('bob');
    expect(cliEnv({}).userName).toBe(userInfo().username);
  });
});
