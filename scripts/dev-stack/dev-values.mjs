// The values a developer copies out of the banner (API token, signing secret) and the secrets cache key stay
// the same across runs, so a restart of the stack does not invalidate what they pasted or what Redis holds.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { shown, state } from './paths.mjs';
import { shellWord } from './util.mjs';

export const stateFile = (file) => path.join(state, file);

/** A value kept in a state file (created on first use), unless the environment sets it. */
function devValue(envName, file, create) {
  if (process.env[envName]) return { value: process.env[envName], fromEnv: true };
  const full = stateFile(file);
  if (!existsSync(full)) writeFileSync(full, create(), { mode: 0o600 });
  return { value: readFileSync(full, 'utf8').trim(), fromEnv: false };
}

export function devValues() {
  return {
    token: devValue('VIGIL_API_TOKEN', 'dev-token', () => randomBytes(18).toString('base64url')),
    signing: devValue('WEBHOOKS_SIGNING_SECRET', 'webhooks-signing-secret', () => {
      return `whsec_${randomBytes(24).toString('base64')}`;
    }),
    // The secrets service keeps sealed last-known-good copies in Redis with it: a restart during a provider
    // outage still has values to serve (seed 000). Kept across runs, or the last run's copies could not be opened.
    cacheKey: devValue('SECRETS_CACHE_KEY', 'secrets-cache-key', () => randomBytes(32).toString('base64')),
  };
}

/**
 * Sourceable by a shell (`set -a; . .vigil/env; set +a`); the CLI reads its NATS_URL= line (packages/cli/src/config.ts).
 * Written again when the scheduler moves to another port (VIGIL_PUBLIC_URL is its URL).
 */
export function writeEnvFile({ natsUrl, token, signing, publicUrl }) {
  const file = stateFile('env');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(
    tmp,
    [
      '# Written by `npm start` for the stack it runs. The vigil CLI reads NATS_URL from here.',
      `# In a shell (from the repo root): set -a; . ${shown(file)}; set +a`,
      `NATS_URL=${natsUrl}`,
      ...(publicUrl ? [`VIGIL_PUBLIC_URL=${publicUrl}`] : []),
      `VIGIL_API_TOKEN=${shellWord(token.value)}`,
      `WEBHOOKS_SIGNING_SECRET=${shellWord(signing.value)}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // Atomic: a shell or the CLI reading it meanwhile never sees half a file.
  renameSync(tmp, file);
}
