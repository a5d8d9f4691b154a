#!/usr/bin/env node
// The dev stack behind `npm start`: its own NATS (JetStream), Redis, a dev mail inbox, a demo LLM endpoint, then
// every built service with examples/jobs.yaml. Prints the URLs; Ctrl-C stops all. State (pids.json, logs, stores,
// dev token…) lives in .vigil/, or in VIGIL_STATE_DIR when set (tests run their own stack next to a developer's).
//
// A child that exits while the stack runs is started again after a backoff, as docker-compose and Kubernetes
// would (dev-stack/supervisor.mjs); every child is listed in pids.json (pid + start time) and carries
// VIGIL_DEV_STACK in its environment, so a later `npm start` after a crash stops exactly this stack's processes
// (dev-stack/stale.mjs). Ctrl-C: dev-stack/shutdown.mjs.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { printBanner } from './dev-stack/banner.mjs';
import { devValues, stateFile, writeEnvFile } from './dev-stack/dev-values.mjs';
import { logFile, mailDir, natsDir, redisDir, root, shown } from './dev-stack/paths.mjs';
import { pickPort, waitPort } from './dev-stack/ports.mjs';
import { saveRecord } from './dev-stack/record.mjs';
import { parked, stopAll, stopOnSignals } from './dev-stack/shutdown.mjs';
import { cleanStale } from './dev-stack/stale.mjs';
import { isStopping, onSpawnFailure, start, stayedStopped } from './dev-stack/supervisor.mjs';
import { say, sleep, which } from './dev-stack/util.mjs';

// A closed terminal must not turn a shutdown into a crash.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
stopOnSignals();
onSpawnFailure(() => void stopAll(1));

await cleanStale();
if (isStopping()) await parked();
saveRecord();

const natsPort = await pickPort(4222);
const redisPort = await pickPort(6379);
const smtpPort = await pickPort(1025);
const mailWebPort = await pickPort(8025);

for (const bin of ['nats-server', 'redis-server']) {
  if (!which(bin)) {
    say(`${bin} not found on PATH (npm start installs it when it can; see README)`);
    await stopAll(1);
  }
}
start('nats', which('nats-server'), ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', natsDir], {
  port: natsPort,
});
start(
  'redis',
  which('redis-server'),
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--save', ''],
  { port: redisPort },
);
start(
  'mail',
  process.execPath,
  [
    path.join(root, 'node_modules', 'maildev', 'dist', 'bin', 'maildev.js'),
    '--smtp',
    String(smtpPort),
    '--ip',
    '127.0.0.1',
    '--web',
    String(mailWebPort),
    '--web-ip',
    '127.0.0.1',
    '--mail-directory',
    mailDir,
  ],
  { port: smtpPort },
);
for (const [name, port] of [
  ['nats', natsPort],
  ['redis', redisPort],
  ['mail', smtpPort],
]) {
  if (!(await waitPort(port, isStopping)) && !isStopping()) {
    say(`${name} did not start on port ${port}; see ${shown(logFile(name))}`);
    await stopAll(1);
  }
}
if (isStopping()) await parked();

// A demo OpenAI-compatible endpoint so the example report job produces reports without an API key.
let llmUrl;
const fakeLlm = path.join(root, 'packages', 'shared', 'dist', 'testing', 'fake-llm.js');
if (existsSync(fakeLlm)) {
  try {
    const mod = await import(pathToFileURL(fakeLlm).href);
    if (typeof mod.startFakeLlm === 'function') llmUrl = (await mod.startFakeLlm()).url;
  } catch (err) {
    say(`demo LLM not started: ${err.message}`);
  }
}

const { token, signing, cacheKey } = devValues();
if (!/^whsec_[A-Za-z0-9+/]{22,}={0,2}$/.test(signing.value)) {
  say(
    `WEBHOOKS_SIGNING_SECRET (${signing.fromEnv ? 'environment' : shown(stateFile('webhooks-signing-secret'))}) ` +
      'is not whsec_<base64 of 16+ bytes>; the webhooks service will refuse it',
  );
}
writeEnvFile({ natsUrl: `nats://127.0.0.1:${natsPort}`, token, signing });

const services = [
  ['scheduler', 8080],
  ['reports', 8081],
  ['notifier', 8082],
  ['secrets', 8083],
  ['webhooks', 8084],
];
const common = {
  NATS_URL: `nats://127.0.0.1:${natsPort}`,
  REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
  VIGIL_JOBS_FILE: path.join(root, 'examples', 'jobs.yaml'),
  VIGIL_API_TOKEN: token.value,
  SECRETS_PROVIDER: process.env.SECRETS_PROVIDER ?? 'file',
  SECRETS_FILE: process.env.SECRETS_FILE ?? path.join(root, 'examples', 'secrets.json'),
  // Warm the demo secrets so `npx vigil secrets status` has something to show.
  SECRET_NAMES: process.env.SECRET_NAMES ?? 'job_failure_recipients,openai,companies',
  ADMIN_EMAIL: process.env.ADMIN_EMAIL ?? 'ops@vigil.localhost',
  WEBHOOKS_ALLOW_PRIVATE: process.env.WEBHOOKS_ALLOW_PRIVATE ?? 'true',
  WEBHOOKS_SIGNING_SECRET: signing.value,
  SECRETS_CACHE_KEY: cacheKey.value,
  // Re-run lines in the emails: in a checkout the CLI is `npx vigil` (the image has `vigil` on its PATH).
  ALERT_CLI: process.env.ALERT_CLI ?? 'npx vigil',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  ...(llmUrl
    ? {
        LLM_ENDPOINT: process.env.LLM_ENDPOINT ?? llmUrl,
        LLM_MODELS: process.env.LLM_MODELS ?? 'demo-primary,demo-fallback',
      }
    : {}),
};
const urls = [];
for (const [name, preferred] of services) {
  const main = path.join(root, 'services', name, 'dist', 'main.js');
  const src = readFileSync(path.join(root, 'services', name, 'src', 'main.ts'), 'utf8');
  if (!existsSync(main) || !src.includes('start')) {
    say(`${name}: not built yet, skipped`);
    continue;
  }
  const port = await pickPort(preferred);
  if (isStopping()) await parked();
  if (name === 'scheduler') common.VIGIL_PUBLIC_URL = `http://127.0.0.1:${port}`;
  start(name, process.execPath, [main], {
    env: { ...common, HTTP_PORT: String(port) },
    cwd: path.join(root, 'services', name),
    port,
  });
  urls.push([name, `http://127.0.0.1:${port}`]);
}

// Wait until every service says ready (or give up after a while and say which is not).
const readyBy = Date.now() + 45_000;
const pending = new Set(urls.map(([n]) => n));
const stopped = [];
while (pending.size > 0 && Date.now() < readyBy && !isStopping()) {
  for (const name of stayedStopped()) if (pending.delete(name)) stopped.push(name);
  for (const [name, url] of urls) {
    if (!pending.has(name)) continue;
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.ok) pending.delete(name);
    } catch {
      // not listening yet
    }
  }
  if (pending.size > 0) await sleep(300);
}
if (isStopping()) await parked();

printBanner({
  urls,
  pending: [...pending],
  stopped,
  natsPort,
  redisPort,
  smtpPort,
  mailWebPort,
  llmUrl,
  token,
  signing,
});
