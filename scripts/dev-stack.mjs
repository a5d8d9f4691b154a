#!/usr/bin/env node
// The dev stack behind `npm start`: its own NATS (JetStream, store under .vigil/), Redis, a dev mail inbox,
// a demo LLM endpoint, then every built service with examples/jobs.yaml. Prints the URLs; Ctrl-C stops all.
// Ports: the usual defaults when free, otherwise free ones (a machine may already run NATS/Redis there).
//
// Processes: every child runs in its own process group, so the terminal's Ctrl-C reaches only this script
// (and npm/bootstrap above it). This script is then the only one that signals the children, exactly once each:
// SIGTERM to the services (they drain against a still-running NATS), then to the mail inbox, Redis and NATS,
// SIGKILL only for a child still alive after its grace period. Every child is listed in .vigil/pids.json
// (pid + process start time) and carries VIGIL_DEV_STACK in its environment, so a later `npm start` after a
// crash stops exactly the processes of this stack — never one that merely uses a default port.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const state = path.join(root, '.vigil');
const logDir = path.join(state, 'logs');
const pidsFile = path.join(state, 'pids.json');
const legacyRunDir = path.join(state, 'run'); // pid files of earlier versions of this script
for (const d of [state, logDir, path.join(state, 'nats'), path.join(state, 'redis'), path.join(state, 'mail')]) {
  mkdirSync(d, { recursive: true });
}

/** Services bound their own shutdown at 20 s (runService's shutdownTimeoutMs); only then does SIGKILL come. */
const SERVICE_GRACE_MS = 25_000;
/** maildev forces its own exit after 10 s; Redis and NATS stop in well under a second. */
const INFRA_GRACE_MS = 12_000;
const INFRA = new Set(['nats', 'redis', 'mail']);
/** In every child's environment (inherited by whatever it starts): which stack and which run it belongs to. */
const MARK = 'VIGIL_DEV_STACK';
const runMark = `${root}#${process.pid}-${randomBytes(4).toString('hex')}`;

// A closed terminal must not turn a shutdown into a crash.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
const say = (msg) => console.log(`[vigil] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const which = (bin) =>
  [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin']
    .filter(Boolean)
    .map((d) => path.join(d, bin))
    .find((p) => existsSync(p));

// ── processes ────────────────────────────────────────────────────────────────────────────────────────────
const hasProc = existsSync('/proc/self/stat');
const bootId = hasProc ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : '';
const procText = (pid, file) => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
};
const procLink = (pid, link) => {
  try {
    return readlinkSync(`/proc/${pid}/${link}`);
  } catch {
    return '';
  }
};

/** What tells this exact process apart from a later one with the same pid (its start time); undefined once gone. */
function identity(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (hasProc) {
    const stat = procText(pid, 'stat');
    if (!stat) return undefined;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, not yet reaped: its ports are free
    return `${bootId}:${fields[19]}`;
  }
  const r = spawnSync('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], { encoding: 'utf8' });
  const out = r.status === 0 ? r.stdout.trim() : '';
  return out && !out.startsWith('Z') ? out.replace(/^\S+\s+/, '') : undefined;
}
const commandOf = (pid) =>
  hasProc
    ? procText(pid, 'cmdline').split('\0').join(' ').trim()
    : (spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).stdout ?? '').trim();

const signal = (pid, sig) => {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
};

/** Waits until each { pid, id } has exited; returns the ones still running after ms. */
async function waitGone(procs, ms) {
  const end = Date.now() + ms;
  let left = procs.filter((p) => identity(p.pid) === p.id);
  while (left.length > 0 && Date.now() < end) {
    await sleep(100);
    left = left.filter((p) => identity(p.pid) === p.id);
  }
  return left;
}

/** SIGTERM, and SIGKILL for whatever is still there after graceMs; resolves once all are gone (or truly stuck). */
async function terminate(procs, graceMs) {
  for (const p of procs) signal(p.pid, 'SIGTERM');
  const stuck = await waitGone(procs, graceMs);
  for (const p of stuck) {
    say(`${p.name} (pid ${p.pid}) did not stop within ${graceMs / 1000}s: SIGKILL`);
    signal(p.pid, 'SIGKILL');
  }
  return waitGone(stuck, 5_000);
}

/** Processes carrying the given VIGIL_DEV_STACK value (prefix match when it ends in '#'). Linux only. */
function marked(value) {
  if (!hasProc) return [];
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const pid = Number(entry);
    const vars = procText(pid, 'environ').split('\0');
    const mark = vars.find((v) => v.startsWith(`${MARK}=`))?.slice(MARK.length + 1);
    if (!mark || !(value.endsWith('#') ? mark.startsWith(value) : mark === value)) continue;
    const id = identity(pid);
    const name = vars.find((v) => v.startsWith(`${MARK}_CHILD=`))?.slice(MARK.length + 7) ?? 'process';
    if (id) found.push({ pid, id, name });
  }
  return found;
}

/**
 * Leftovers of an earlier run whose `npm start` died without stopping them (kill -9, a closed laptop…): the
 * children listed in .vigil/pids.json that are still the same processes, anything carrying this stack's
 * VIGIL_DEV_STACK mark, and — for runs of older versions of this script — Redis whose working directory is
 * .vigil/redis (it rewrites its command line to `redis-server 127.0.0.1:<port>`), the NATS/maildev started with
 * a .vigil store, and the pids of .vigil/run/*.pid. Stopped services first, then the servers, and waited for.
 */
async function cleanStale() {
  let old;
  try {
    old = JSON.parse(readFileSync(pidsFile, 'utf8'));
  } catch {
    old = undefined;
  }
  const owner = old?.devStack;
  if (owner && owner.pid !== process.pid && identity(owner.pid) === owner.id) {
    console.error(
      `\n[vigil] another \`npm start\` (pid ${owner.pid}) is running this stack; stop it first ` +
        `(Ctrl-C in its terminal, or kill ${owner.pid}).\n`,
    );
    process.exit(1);
  }
  const stale = new Map();
  const add = (p) => {
    if (p.id && p.pid !== process.pid && !stale.has(p.pid)) stale.set(p.pid, p);
  };
  for (const c of old?.children ?? []) if (identity(c.pid) === c.id) add(c);
  for (const p of marked(`${root}#`)) add(p);

  const redisDir = path.join(state, 'redis');
  const ours = (pid, name) => {
    const cmd = procText(pid, 'cmdline').split('\0');
    const exe = path.basename(procLink(pid, 'exe'));
    // Debian's redis-server is a link to redis-check-rdb: the name it was started by is in comm.
    const redis = procText(pid, 'comm').startsWith('redis-server') || exe.startsWith('redis-');
    if (name === 'redis') return redis && procLink(pid, 'cwd') === redisDir;
    if (name === 'nats') return exe.startsWith('nats-server') && cmd.includes(path.join(state, 'nats'));
    if (name === 'mail') return cmd.some((a) => a.endsWith('maildev.js')) && cmd.includes(path.join(state, 'mail'));
    return cmd.includes(path.join(root, 'services', name, 'dist', 'main.js'));
  };
  if (existsSync(legacyRunDir)) {
    for (const f of readdirSync(legacyRunDir).filter((n) => n.endsWith('.pid'))) {
      const pid = Number(readFileSync(path.join(legacyRunDir, f), 'utf8'));
      const name = f.slice(0, -'.pid'.length);
      if (hasProc && ours(pid, name)) add({ pid, id: identity(pid), name });
      rmSync(path.join(legacyRunDir, f), { force: true });
    }
    try {
      rmdirSync(legacyRunDir);
    } catch {
      // not empty: not ours to remove
    }
  }
  if (hasProc) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      for (const name of ['redis', 'nats', 'mail']) if (ours(pid, name)) add({ pid, id: identity(pid), name });
    }
  }

  const all = [...stale.values()];
  for (const p of all) say(`stopping a leftover ${p.name} (pid ${p.pid}) from an earlier run`);
  const left = [
    ...(await terminate(
      all.filter((p) => !INFRA.has(p.name)),
      SERVICE_GRACE_MS,
    )),
    ...(await terminate(
      all.filter((p) => INFRA.has(p.name)),
      INFRA_GRACE_MS,
    )),
  ];
  if (left.length > 0) {
    console.error(
      `\n[vigil] could not stop ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')} from an earlier run; ` +
        'stop it, then run `npm start` again.\n',
    );
    process.exit(1);
  }
  // Gone processes have closed their sockets; still, give the kernel a moment before ports are chosen.
  const ports = (old?.children ?? []).map((c) => c.port).filter(Boolean);
  if (all.length > 0) {
    const end = Date.now() + 3_000;
    while (Date.now() < end && !(await Promise.all(ports.map(portFree))).every(Boolean)) await sleep(100);
    say(`leftovers stopped (${all.length})`);
  }
}

// ── ports ────────────────────────────────────────────────────────────────────────────────────────────────
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
  while (Date.now() < end && !stopping) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
};

// ── children ─────────────────────────────────────────────────────────────────────────────────────────────
const children = [];
const record = { devStack: { pid: process.pid, id: identity(process.pid) }, children: [] };
function saveRecord() {
  const tmp = `${pidsFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(tmp, pidsFile);
}

let stopping = false;
/** While stopping, the start-up code parks here instead of starting more. */
const parked = () => new Promise(() => {});

function start(name, command, args, { env = {}, cwd = root, port } = {}) {
  if (stopping) return undefined;
  const log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env, [MARK]: runMark, [`${MARK}_CHILD`]: name },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: the terminal's Ctrl-C does not reach it; stopAll() signals it exactly once.
    detached: true,
  });
  const entry = { name, child, infra: INFRA.has(name) };
  if (child.pid) {
    entry.id = identity(child.pid);
    record.children.push({ name, pid: child.pid, id: entry.id, port, command: [command, ...args].join(' ') });
    saveRecord();
  }
  const prefix = `${name.padEnd(9)} │ `;
  const relay = (chunk) => {
    log.write(chunk);
    if (process.env.VIGIL_QUIET === '1') return;
    for (const line of chunk.toString().split('\n')) if (line.trim()) process.stdout.write(`${prefix + line}\n`);
  };
  child.stdout.on('data', relay);
  child.stderr.on('data', relay);
  child.on('error', (err) => {
    say(`${name} could not start: ${err.message}`);
    void stopAll(1);
  });
  child.on('exit', (code, sig) => {
    record.children = record.children.filter((c) => c.pid !== child.pid);
    if (!stopping) {
      saveRecord();
      say(`${name} exited (${sig ?? code}); see .vigil/logs/${name}.log`);
    }
  });
  children.push(entry);
  return child;
}

const running = (c) => c.child.pid !== undefined && c.child.exitCode === null && c.child.signalCode === null;
const exited = (c) => (running(c) ? new Promise((r) => c.child.once('exit', r)) : undefined);
let forceStop;
const forced = new Promise((r) => {
  forceStop = r;
});

/** One SIGTERM each; SIGKILL after graceMs (or, for services, right after a second Ctrl-C + their fast exit). */
async function stopChildren(list, graceMs, { services = false } = {}) {
  for (const c of list) if (running(c)) c.child.kill('SIGTERM');
  const all = Promise.all(list.map(exited));
  const outcome = await Promise.race([all.then(() => 'done'), sleep(graceMs), services ? forced : parked()]);
  if (outcome === 'force') {
    // What the user asked for with a second Ctrl-C: services treat a second signal as "exit now".
    for (const c of list) if (running(c)) c.child.kill('SIGTERM');
    await Promise.race([all, sleep(3_000)]);
  }
  const stuck = list.filter(running);
  if (stuck.length > 0) {
    const after = outcome === 'force' ? 'a second Ctrl-C' : `${graceMs / 1000}s`;
    say(`${stuck.map((c) => c.name).join(', ')} still running after ${after}: SIGKILL`);
    for (const c of stuck) c.child.kill('SIGKILL');
    await Promise.race([all, sleep(5_000)]);
  }
}

async function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  say('stopping… services drain first, then the mail inbox, Redis and NATS (Ctrl-C again: stop at once)');
  await stopChildren(
    children.filter((c) => !c.infra),
    SERVICE_GRACE_MS,
    { services: true },
  );
  await stopChildren(children.filter((c) => c.infra).reverse(), INFRA_GRACE_MS);
  // Anything a child started that outlived it (it carries this run's mark) goes too.
  const strays = marked(runMark);
  for (const p of strays) say(`stopping ${p.name}'s leftover process ${p.pid}: ${commandOf(p.pid).slice(0, 80)}`);
  const left = [
    ...children.filter(running).map((c) => ({ name: c.name, pid: c.child.pid })),
    ...(await terminate(strays, 5_000)),
  ];
  if (left.length === 0) {
    rmSync(pidsFile, { force: true });
    say('stopped; nothing left running');
  } else {
    // Listed in .vigil/pids.json, so the next `npm start` stops them.
    record.children = left.map((p) => ({ name: p.name, pid: p.pid, id: identity(p.pid) }));
    saveRecord();
    say(`stopped, but still running: ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
  }
  process.exit(left.length === 0 ? code : code || 1);
}

// A Ctrl-C reaches this process more than once (from the terminal, and relayed by npm and bootstrap.mjs):
// signals within 2 s of the first are that same Ctrl-C; a later one is a second Ctrl-C.
let firstSignalAt = 0;
function onSignal() {
  if (!stopping) {
    firstSignalAt = Date.now();
    void stopAll(0);
  } else if (Date.now() - firstSignalAt > 2_000) {
    say('second Ctrl-C: services exit now');
    forceStop('force');
  }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, onSignal);

// ── start-up ─────────────────────────────────────────────────────────────────────────────────────────────
await cleanStale();
if (stopping) await parked();
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
start(
  'nats',
  which('nats-server'),
  ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', path.join(state, 'nats')],
  { port: natsPort },
);
start(
  'redis',
  which('redis-server'),
  [
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
  ],
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
    path.join(state, 'mail'),
  ],
  { port: smtpPort },
);
for (const [name, port] of [
  ['nats', natsPort],
  ['redis', redisPort],
  ['mail', smtpPort],
]) {
  if (!(await waitPort(port)) && !stopping) {
    say(`${name} did not start on port ${port}; see .vigil/logs/${name}.log`);
    await stopAll(1);
  }
}
if (stopping) await parked();

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

/** A value kept in a .vigil file across restarts (created on first use), unless the environment sets it. */
function devValue(envName, file, create) {
  if (process.env[envName]) return { value: process.env[envName], fromEnv: true };
  const full = path.join(state, file);
  if (!existsSync(full)) writeFileSync(full, create(), { mode: 0o600 });
  return { value: readFileSync(full, 'utf8').trim(), fromEnv: false };
}
const token = devValue('VIGIL_API_TOKEN', 'dev-token', () => randomBytes(18).toString('base64url'));
const signing = devValue(
  'WEBHOOKS_SIGNING_SECRET',
  'webhooks-signing-secret',
  () => `whsec_${randomBytes(24).toString('base64')}`,
);
// The secrets service keeps sealed last-known-good copies in Redis with it: a restart during a provider outage
// still has values to serve (seed 000). Kept across restarts, or the copies from the last run could not be opened.
const cacheKey = devValue('SECRETS_CACHE_KEY', 'secrets-cache-key', () => randomBytes(32).toString('base64'));
if (!/^whsec_[A-Za-z0-9+/]{22,}={0,2}$/.test(signing.value)) {
  say(
    `WEBHOOKS_SIGNING_SECRET (${signing.fromEnv ? 'environment' : '.vigil/webhooks-signing-secret'}) is not ` +
      'whsec_<base64 of 16+ bytes>; the webhooks service will refuse it',
  );
}

// Sourceable by a shell (`set -a; . .vigil/env; set +a`); the CLI reads its NATS_URL= line (packages/cli/src/config.ts).
const shellWord = (v) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", `'\\''`)}'`);
writeFileSync(
  path.join(state, 'env'),
  [
    '# Written by `npm start` for the stack it runs. The vigil CLI reads NATS_URL from here.',
    '# In a shell (from the repo root): set -a; . .vigil/env; set +a',
    `NATS_URL=nats://127.0.0.1:${natsPort}`,
    `VIGIL_API_TOKEN=${shellWord(token.value)}`,
    `WEBHOOKS_SIGNING_SECRET=${shellWord(signing.value)}`,
    '',
  ].join('\n'),
  { mode: 0o600 },
);

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
  if (stopping) await parked();
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
  if (pending.size > 0) await sleep(300);
}
if (stopping) await parked();

const line = '─'.repeat(64);
const mailUrl = `http://127.0.0.1:${mailWebPort}`;
console.log(
  `\n${line}\n  Vigil is running${pending.size ? ` (not ready yet: ${[...pending].join(', ')})` : ''}\n${line}`,
);
for (const [name, url] of urls) console.log(`  ${name.padEnd(10)} ${url}   (health: ${url}/health/ready)`);
console.log(`  mail inbox ${mailUrl}   (REST API: ${mailUrl}/api/email · SMTP on 127.0.0.1:${smtpPort})`);
console.log(`  NATS       nats://127.0.0.1:${natsPort}   Redis redis://127.0.0.1:${redisPort}`);
if (llmUrl) console.log(`  demo LLM   ${llmUrl}`);
console.log(`\n  API token  ${token.value}`);
console.log(
  token.fromEnv
    ? '             (VIGIL_API_TOKEN from your environment; .vigil/dev-token is not used)'
    : '             (kept in .vigil/dev-token; in a shell: export VIGIL_API_TOKEN=$(cat .vigil/dev-token))',
);
console.log(
  signing.fromEnv
    ? '  webhooks   signing secret: WEBHOOKS_SIGNING_SECRET from your environment (also in .vigil/env)'
    : '  webhooks   signing secret in .vigil/webhooks-signing-secret (the same on every start; also in .vigil/env)',
);
console.log('  shell      set -a; . .vigil/env; set +a   (NATS_URL, VIGIL_API_TOKEN, WEBHOOKS_SIGNING_SECRET)');
console.log(`  CLI        npx vigil jobs      (reads NATS_URL from .vigil/env)`);
console.log(`  trigger    npx vigil trigger <job> --reason "first try"`);
console.log(`  logs       .vigil/logs/<service>.log      Ctrl-C stops everything (services drain first)\n${line}\n`);
