import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv } from '../src/config.js';

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

  it('records who triggered: USER, else USERNAME, else the account running it', () => {
    expect(cliEnv({ USER: 'alice' }).userName).toBe('alice');
    expect(cliEnv({ USERNAME: 'bob' }).userName).toBe('bob');
    expect(cliEnv({}).userName).toBe(userInfo().username);
  });
});
