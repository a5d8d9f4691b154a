import { Writable } from 'node:stream';
import { createLogger, createSecretsClient, type JobDefinition, type SecretsClient } from '@vigil/shared';
import { startNats, type TestServer } from '@vigil/shared/testing';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandlerSecrets } from '../src/handler-api.js';
import { resolveTargets } from '../src/runner/targets.js';

// A job's targets read from a secret are names, in clear in events, emails and artifact names: they must not be
// scrubbed from the logs (per-target debugging greps for them), while a real secret's fields still are.

const jc = JSONCodec();
const SECRETS: Record<string, string> = {
  'report-targets': JSON.stringify(['acme-corp', 'globex-ltd']),
  db: JSON.stringify({ user: 'app', password: 'Db-61fe-password' }),
};

let nats: TestServer;
let nc: NatsConnection;
let client: SecretsClient;
const lines: string[] = [];
const log = createLogger({
  service: 'targets-not-redacted-test',
  destination: new Writable({
    write(chunk, _e, cb) {
      lines.push(String(chunk));
      cb();
    },
  }),
});

/** What the reports service hands its runner (service.ts): the client's value, the caller's options passed on. */
function handlerSecrets(c: SecretsClient): HandlerSecrets {
  return {
    get: async (name, opts) => (await c.get(name, opts)).value,
    resolve: (text) => c.resolveTemplate(text),
  };
}

beforeAll(async () => {
  nats = await startNats({ jetstream: false });
  nc = await connect({ servers: nats.url });
  // A real `vigil-secrets` responder on real NATS.
  const service = await nc.services.add({ name: 'vigil-secrets', version: '0.0.1' });
  service.addEndpoint('secrets-get', {
    subject: 'secrets.get',
    handler: (_err, msg) => {
      const { name } = jc.decode(msg.data) as { name: string };
      const value = SECRETS[name];
      if (value === undefined) return void msg.respondError(404, `secret "${name}" does not exist`);
      msg.respond(jc.encode({ name, value, stale: false, ageSeconds: 0, source: 'file' }));
    },
  });
  client = createSecretsClient(nc, { logger: log });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('targets read from a secret', () => {
  it('stay in clear in log lines, of this job and of one listing them inline; another secret is still redacted', async () => {
    const secrets = handlerSecrets(client);
    const fromSecret = { name: 'daily-reports', targets: { secret: 'report-targets' } } as unknown as JobDefinition;
    const inline = { name: 'weekly-reports', targets: ['acme-corp'] } as unknown as JobDefinition;
    expect(await resolveTargets(fromSecret, undefined, secrets)).toEqual(['acme-corp', 'globex-ltd']);
    expect(await resolveTargets(inline, undefined, secrets)).toEqual(['acme-corp']);
    const db = JSON.parse(await secrets.get('db')) as { password: string };

    log.info({ job: 'daily-reports', target: 'acme-corp' }, 'globex-ltd: done with p2');
    log.info({ job: 'weekly-reports', target: 'acme-corp' }, 'acme-corp: done');
    log.warn({ dsn: `postgres://app@db/${db.password}` }, `connected with ${db.password}`);

    const [daily, weekly, dbLine] = lines.slice(-3);
    expect(daily).toContain('"target":"acme-corp"');
    expect(daily).toContain('globex-ltd: done with p2');
    expect(weekly).toContain('acme-corp: done');
    expect(lines.join('')).not.toContain('[REDACTED]: done');
    expect(dbLine).not.toContain('Db-61fe-password');
    expect(dbLine).toContain('connected with [REDACTED]');
  });

  it('the same secret read as a credential (default) is redacted, even when the cache served it', async () => {
    // The targets secret is cached by now: registration follows the read, not the fetch.
    const value = await handlerSecrets(client).get('report-targets');
    log.info({ list: value }, 'read as a credential');
    expect(lines.at(-1)).not.toContain('globex-ltd');
  });
});
