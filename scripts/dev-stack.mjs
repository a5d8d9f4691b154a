#!/usr/bin/env node
// The dev stack behind `npm start`: its own NATS (JetStream), Redis, a dev mail inbox, a demo LLM endpoint, then
// every built service with examples/jobs.yaml (as a copy with this stack's ports: dev-stack/stack-jobs.mjs).
// Prints the URLs; Ctrl-C stops all. State (pids.json, logs, stores, dev token…) lives in .vigil/, or in
// VIGIL_STATE_DIR when set (tests run their own stack next to a developer's).
//
// A child that exits while the stack runs is started again after a backoff, as docker-compose and Kubernetes
// would (dev-stack/supervisor.mjs); every child is listed in pids.json (pid + start time) and carries
// VIGIL_DEV_STACK in its environment, so a later `npm start` after a crash stops exactly this stack's processes
// (dev-stack/stale.mjs). Ctrl-C: dev-stack/shutdown.mjs.
//
// Ports are chosen free, but another program (another `npm start`) can bind one before this stack's child does:
// the child says "address in use" and the supervisor starts it on another free port, and what names that port
// follows (the env file, the jobs copy, the notifier's VIGIL_PUBLIC_URL, the banner). Only a child's own answers
// count as it being up (dev-stack/readiness.mjs), never another program's on the same port.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { printBanner } from './dev-stack/banner.mjs';
import { cliCommands, writeWrapper } from './dev-stack/cli.mjs';
import { devValues, stateFile, writeEnvFile } from './dev-stack/dev-values.mjs';
import { isDefaultState, logFile, mailDir, natsDir, redisDir, root, shown, state } from './dev-stack/paths.mjs';
import { pickPort } from './dev-stack/ports.mjs';
import { waitOwned, waitServices } from './dev-stack/readiness.mjs';
import { saveRecord } from './dev-stack/record.mjs';
import { parked, stopAll, stopOnSignals } from './dev-stack/shutdown.mjs';
import { USUAL_PORTS, watchSource, writeStackJobs } from './dev-stack/stack-jobs.mjs';
import { cleanStale } from './dev-stack/stale.mjs';
import { isStopping, onSpawnFailure, restartNow, start, stayedStopped } from './dev-stack/supervisor.mjs';
import { say, which } from './dev-stack/util.mjs';

// A closed terminal must not turn a shutdown into a crash.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
stopOnSignals();
onSpawnFailure(() => void stopAll(1));

await cleanStale();
if (isStopping()) await parked();
saveRecord();

/** A child whose output has no line we recognise as "listening" owns its port after running this long unharmed. */
const SETTLE_MS = 5_000;
const urlOf = (port) => `http://127.0.0.1:${port}`;
const mentionsPort = (line, port) => new RegExp(`:${port}(?!\\d)`).test(line);

const ports = {
  nats: await pickPort(4222),
  redis: await pickPort(6379),
  smtp: await pickPort(1025),
  mailWeb: await pickPort(8025),
};

for (const bin of ['nats-server', 'redis-server']) {
  if (!which(bin)) {
    say(`${bin} not found on PATH (npm start installs it when it can; see README)`);
    await stopAll(1);
  }
}

const natsArgs = () => ['-a', '127.0.0.1', '-p', String(ports.nats), '-js', '-sd', natsDir];
const redisArgs = () => [
  '--port',
  String(ports.redis),
  '--bind',
  '127.0.0.1',
  '--dir',
  redisDir,
  '--appendonly',
  'yes',
  '--save',
  '',
];
const mailArgs = () => [
  path.join(root, 'node_modules', 'maildev', 'dist', 'bin', 'maildev.js'),
  '--smtp',
  String(ports.smtp),
  '--ip',
  '127.0.0.1',
  '--web',
  String(ports.mailWeb),
  '--web-ip',
  '127.0.0.1',
  '--mail-directory',
  mailDir,
];
// A server whose port was taken before it bound it moves to another, until the services have been given its
// address; after that it stays (the supervisor says the port is taken and retries after its backoff).
let infraSettled = false;
const movable = (keys, argsOf) => async (entry, taken) => {
  if (infraSettled) return false;
  const key = keys.find((k) => ports[k] === taken) ?? keys[0];
  ports[key] = await pickPort();
  entry.args = argsOf();
  entry.port = ports[keys[0]];
  entry.ports = keys.map((k) => ports[k]);
  return true;
};
const infra = [
  start('nats', which('nats-server'), natsArgs(), {
    port: ports.nats,
    listening: (line, e) => line.includes('Listening for client connections on') && mentionsPort(line, e.port),
    settleMs: SETTLE_MS,
    onPortTaken: movable(['nats'], natsArgs),
  }),
  start('redis', which('redis-server'), redisArgs(), {
    port: ports.redis,
    listening: (line) => line.includes('Ready to accept connections'),
    settleMs: SETTLE_MS,
    onPortTaken: movable(['redis'], redisArgs),
  }),
  start('mail', process.execPath, mailArgs(), {
    port: ports.smtp,
    ports: [ports.smtp, ports.mailWeb],
    // maildev lists its SMTP port once both servers listen.
    listening: (line, e) => new RegExp(`^\\s*Port:\\s+${e.port}\\s*$`).test(line),
    settleMs: SETTLE_MS,
    onPortTaken: movable(['smtp', 'mailWeb'], mailArgs),
  }),
];
if (isStopping()) await parked();
for (const entry of infra) {
  if (!(await waitOwned(entry, isStopping)) && !isStopping()) {
    say(`${entry.name} did not start on port ${entry.port}; see ${shown(logFile(entry.name))}`);
    await stopAll(1);
  }
}
if (isStopping()) await parked();
infraSettled = true;

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

const services = [];
for (const [name, usual] of Object.entries(USUAL_PORTS)) {
  const main = path.join(root, 'services', name, 'dist', 'main.js');
  const src = readFileSync(path.join(root, 'services', name, 'src', 'main.ts'), 'utf8');
  if (!existsSync(main) || !src.includes('start')) {
    say(`${name}: not built yet, skipped`);
    continue;
  }
  services.push({ name, main, port: await pickPort(usual) });
}
if (isStopping()) await parked();
const portOf = (s) => s.entry?.port ?? s.port;
const servicePorts = () => Object.fromEntries(services.map((s) => [s.name, portOf(s)]));
const serviceNamed = (name) => services.find((s) => s.name === name);
const publicUrl = () => (serviceNamed('scheduler') ? urlOf(portOf(serviceNamed('scheduler'))) : undefined);

// What names the services' ports: the env file (VIGIL_PUBLIC_URL) and the jobs copy (examples/jobs.yaml with
// this stack's ports, stack-jobs.mjs), written again whenever a service moves.
const natsUrl = `nats://127.0.0.1:${ports.nats}`;
// Your own jobs file when VIGIL_JOBS_FILE names one (the services then read its copy, as they do the demo's).
const jobsSource = process.env.VIGIL_JOBS_FILE
  ? path.resolve(process.env.VIGIL_JOBS_FILE)
  : path.join(root, 'examples', 'jobs.yaml');
const jobsCopy = stateFile('jobs.yaml');
const writeStackFiles = () => {
  writeEnvFile({ natsUrl, token, signing, publicUrl: publicUrl() });
  return writeStackJobs(jobsSource, jobsCopy, servicePorts());
};
const jobsFile = writeStackFiles();
watchSource(jobsSource, () => writeStackJobs(jobsSource, jobsCopy, servicePorts()));

// Re-run lines (banner, alert emails) that reach this stack, not the default one (cli.mjs).
const cli = cliCommands({ state, isDefaultState });
if (cli.wrapper) writeWrapper({ state, root, wrapper: cli.wrapper });
cli.alertFallback = !isDefaultState && !process.env.ALERT_CLI && !cli.alert;

const common = {
  NATS_URL: natsUrl,
  REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
  SMTP_URL: `smtp://127.0.0.1:${ports.smtp}`,
  VIGIL_JOBS_FILE: jobsFile,
  VIGIL_API_TOKEN: token.value,
  SECRETS_PROVIDER: process.env.SECRETS_PROVIDER ?? 'file',
  SECRETS_FILE: process.env.SECRETS_FILE ?? path.join(root, 'examples', 'secrets.json'),
  // Warm the demo secrets so `npx vigil secrets status` has something to show.
  SECRET_NAMES: process.env.SECRET_NAMES ?? 'job_failure_recipients,openai,companies',
  // /version names the checkout's commit, as an image names the one it was built from.
  VIGIL_COMMIT: process.env.VIGIL_COMMIT ?? checkoutCommit(),
  ADMIN_EMAIL: process.env.ADMIN_EMAIL ?? 'ops@vigil.localhost',
  WEBHOOKS_ALLOW_PRIVATE: process.env.WEBHOOKS_ALLOW_PRIVATE ?? 'true',
  WEBHOOKS_SIGNING_SECRET: signing.value,
  SECRETS_CACHE_KEY: cacheKey.value,
  // Re-run lines in the emails: in a checkout the CLI is `npx vigil` (the image has `vigil` on its PATH); for
  // another state dir, the wrapper that sets VIGIL_STATE_DIR (the notifier allows no `VAR=value` here).
  ALERT_CLI: process.env.ALERT_CLI ?? cli.alert ?? 'npx vigil',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  ...(publicUrl() ? { VIGIL_PUBLIC_URL: publicUrl() } : {}),
  ...(llmUrl
    ? {
        LLM_ENDPOINT: process.env.LLM_ENDPOINT ?? llmUrl,
        LLM_MODELS: process.env.LLM_MODELS ?? 'demo-primary,demo-fallback',
      }
    : {}),
};
// Services say "listening on <url>" at level info; with a quieter LOG_LEVEL, a run without complaint counts.
const serviceSettleMs = /^(warn|error|fatal|silent)$/i.test(common.LOG_LEVEL) ? SETTLE_MS : undefined;

let bannerShown = false;
/** A service whose port was taken: another free port, and the files that name its URL (before it starts there). */
const moveService = async (entry) => {
  const port = await pickPort();
  entry.port = port;
  entry.ports = [port];
  entry.env = { ...entry.env, HTTP_PORT: String(port) };
  if (entry.name === 'scheduler') {
    common.VIGIL_PUBLIC_URL = urlOf(port);
    for (const s of services) {
      if (s.entry && s.entry !== entry) s.entry.env = { ...s.entry.env, VIGIL_PUBLIC_URL: common.VIGIL_PUBLIC_URL };
    }
  }
  writeStackFiles();
  return true;
};
/** Once it runs there: the notifier's links follow the scheduler; after the banner, its new URL is printed. */
const afterServiceMove = (entry) => {
  if (entry.name === 'scheduler') {
    restartNow(serviceNamed('notifier')?.entry, `the scheduler moved to ${urlOf(entry.port)} (VIGIL_PUBLIC_URL)`);
  }
  if (bannerShown) say(`${entry.name} is now at ${urlOf(entry.port)} (not the port the banner shows)`);
};

for (const s of services) {
  s.entry = start(s.name, process.execPath, [s.main], {
    env: { ...common, HTTP_PORT: String(s.port) },
    cwd: path.join(root, 'services', s.name),
    port: s.port,
    listening: (line, e) => new RegExp(`listening on https?://\\S*?:${e.port}(?!\\d)`).test(line),
    settleMs: serviceSettleMs,
    onPortTaken: moveService,
    afterMove: afterServiceMove,
  });
}
if (isStopping()) await parked();

// Wait until every service says ready, itself (or give up after a while and say which is not).
const entries = services.map((s) => s.entry);
const { pending, stopped } = await waitServices(entries, { stopped: isStopping, stayedStopped });
if (isStopping()) await parked();

printBanner({
  urls: entries.map((e) => [e.name, urlOf(e.port)]),
  pending,
  stopped,
  natsPort: ports.nats,
  redisPort: ports.redis,
  smtpPort: ports.smtp,
  mailWebPort: ports.mailWeb,
  llmUrl,
  token,
  signing,
  cli,
});
bannerShown = true;

/** The checkout's HEAD, with `-dirty` when it has uncommitted changes; `unknown` outside git. */
function checkoutCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      encoding: 'utf8',
    });
    return dirty.trim() ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}
