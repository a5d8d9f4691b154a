#!/usr/bin/env node
// The dev stack behind `npm start`: its own NATS (JetStream, store under .vigil/), Redis, a dev mail inbox,
// a demo LLM endpoint, then every built service with examples/jobs.yaml. Prints the URLs; Ctrl-C stops all.
// Ports: the usual defaults when free, otherwise free ones (a machine may already run NATS/Redis there).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const state = path.join(root, '.vigil');
const runDir = path.join(state, 'run');
const logDir = path.join(state, 'logs');
for (const d of [
  state,
  runDir,
  logDir,
  path.join(state, 'nats'),
  path.join(state, 'redis'),
  path.join(state, 'mail'),
]) {
  mkdirSync(d, { recursive: true });
}

const say = (msg) => console.log(`[vigil] ${msg}`);
const which = (bin) =>
  [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin']
    .map((d) => path.join(d, bin))
    .find((p) => existsSync(p));

// A crash leaves pid files behind: stop those processes (only ours: their command line names .vigil).
function cleanStale() {
  for (const f of readdirSync(runDir).filter((n) => n.endsWith('.pid'))) {
    const pid = Number(readFileSync(path.join(runDir, f), 'utf8'));
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(root) || cmd.includes('.vigil')) {
        process.kill(pid, 'SIGKILL');
        say(`stopped a leftover ${f.replace('.pid', '')} (pid ${pid}) from an earlier run`);
      }
    } catch {
      // already gone
    }
    rmSync(path.join(runDir, f), { force: true });
  }
}

const portFree = (port) =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
const anyPort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const taken = new Set();
async function pickPort(preferred) {
  if (!taken.has(preferred) && (await portFree(preferred))) {
    taken.add(preferred);
    return preferred;
  }
  for (;;) {
    const p = await anyPort();
    if (!taken.has(p)) {
      taken.add(p);
      return p;
    }
  }
}

const waitPort = async (port, ms = 15_000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

const children = [];
let stopping = false;

function start(name, command, args, env = {}, cwd = root) {
  const log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  writeFileSync(path.join(runDir, `${name}.pid`), String(child.pid));
  const prefix = `${name.padEnd(9)} │ `;
  const relay = (chunk) => {
    log.write(chunk);
    if (process.env.VIGIL_QUIET === '1') return;
    for (const line of chunk.toString().split('\n')) if (line.trim()) process.stdout.write(`${prefix + line}\n`);
  };
  child.stdout.on('data', relay);
  child.stderr.on('data', relay);
  child.on('exit', (code, signal) => {
    rmSync(path.join(runDir, `${name}.pid`), { force: true });
    if (!stopping) say(`${name} exited (${signal ?? code}); see .vigil/logs/${name}.log`);
  });
  children.push({ name, child });
  return child;
}

async function stopAll() {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  // Services first (they drain), infrastructure last.
  const order = [...children].reverse();
  for (const { child } of order) if (child.exitCode === null) child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const { child } of order) if (child.exitCode === null) child.kill('SIGKILL');
  }, 25_000);
  await Promise.all(
    order.map(({ child }) => (child.exitCode === null ? new Promise((r) => child.once('exit', r)) : null)),
  );
  clearTimeout(deadline);
  say('stopped; nothing left running');
  process.exit(0);
}
process.on('SIGINT', () => void stopAll());
process.on('SIGTERM', () => void stopAll());

cleanStale();

const natsPort = await pickPort(4222);
const redisPort = await pickPort(6379);
const smtpPort = await pickPort(1025);
const mailWebPort = await pickPort(8025);

start('nats', which('nats-server'), [
  '-a',
  '127.0.0.1',
  '-p',
  String(natsPort),
  '-js',
  '-sd',
  path.join(state, 'nats'),
]);
start('redis', which('redis-server'), [
  '--port',
  String(redisPort),
  '--bind',
  '127.0.0.1',
  '--dir',
  path.join(state, 'redis'),
  '--appendonly',
  'yes',
  '--save',
  '',
]);
start('mail', process.execPath, [
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
  path.join(state, 'mail'),
]);
for (const [name, port] of [
  ['nats', natsPort],
  ['redis', redisPort],
  ['mail', smtpPort],
]) {
  if (!(await waitPort(port))) {
    say(`${name} did not start on port ${port}; see .vigil/logs/${name}.log`);
    await stopAll();
  }
}

// A demo OpenAI-compatible endpoint so the example report job produces reports without an API key.
let llmUrl;
const fakeLlm = path.join(root, 'packages', 'shared', 'dist', 'testing', 'fake-llm.js');
if (existsSync(fakeLlm)) {
  try {
    const mod = await import(pathToFileURL(fakeLlm).href);
    const start = mod.startFakeLlm;
    if (typeof start === 'function') {
      const llm = await start();
      llmUrl = llm.url;
    }
  } catch (err) {
    say(`demo LLM not started: ${err.message}`);
  }
}

const tokenFile = path.join(state, 'dev-token');
if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(18).toString('base64url'));
const token = readFileSync(tokenFile, 'utf8').trim();

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
  VIGIL_API_TOKEN: process.env.VIGIL_API_TOKEN ?? token,
  SECRETS_PROVIDER: process.env.SECRETS_PROVIDER ?? 'file',
  SECRETS_FILE: process.env.SECRETS_FILE ?? path.join(root, 'examples', 'secrets.json'),
  // Warm the demo secrets so `npx vigil secrets status` has something to show.
  SECRET_NAMES: process.env.SECRET_NAMES ?? 'job_failure_recipients,openai,companies',
  ADMIN_EMAIL: process.env.ADMIN_EMAIL ?? 'ops@vigil.localhost',
  WEBHOOKS_ALLOW_PRIVATE: process.env.WEBHOOKS_ALLOW_PRIVATE ?? 'true',
  WEBHOOKS_SIGNING_SECRET: process.env.WEBHOOKS_SIGNING_SECRET ?? `whsec_${randomBytes(24).toString('base64')}`,
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
  if (name === 'scheduler') common.VIGIL_PUBLIC_URL = `http://127.0.0.1:${port}`;
  start(name, process.execPath, [main], { ...common, HTTP_PORT: String(port) }, path.join(root, 'services', name));
  urls.push([name, `http://127.0.0.1:${port}`]);
}

// Wait until every service says ready (or give up after a while and say which is not).
const readyBy = Date.now() + 45_000;
const pending = new Set(urls.map(([n]) => n));
while (pending.size > 0 && Date.now() < readyBy && !stopping) {
  for (const [name, url] of urls) {
    if (!pending.has(name)) continue;
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.ok) pending.delete(name);
    } catch {
      // not listening yet
    }
  }
  if (pending.size > 0) await new Promise((r) => setTimeout(r, 300));
}

const line = '─'.repeat(64);
console.log(
  `\n${line}\n  Vigil is running${pending.size ? ` (not ready yet: ${[...pending].join(', ')})` : ''}\n${line}`,
);
for (const [name, url] of urls) console.log(`  ${name.padEnd(10)} ${url}   (health: ${url}/health/ready)`);
console.log(`  mail inbox http://127.0.0.1:${mailWebPort}   (SMTP on 127.0.0.1:${smtpPort})`);
console.log(`  NATS       nats://127.0.0.1:${natsPort}   Redis redis://127.0.0.1:${redisPort}`);
if (llmUrl) console.log(`  demo LLM   ${llmUrl}`);
console.log(`\n  API token  ${common.VIGIL_API_TOKEN}   (also in .vigil/dev-token)`);
console.log(`  CLI        npx vigil jobs      (reads NATS_URL from .vigil/env)`);
console.log(`  trigger    npx vigil trigger <job> --reason "first try"`);
console.log(`  logs       .vigil/logs/<service>.log      Ctrl-C stops everything\n${line}\n`);
writeFileSync(
  path.join(state, 'env'),
  `NATS_URL=nats://127.0.0.1:${natsPort}\nVIGIL_API_TOKEN=${common.VIGIL_API_TOKEN}\n`,
);
