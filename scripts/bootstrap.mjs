#!/usr/bin/env node
// Plain Node, no dependencies: gets a fresh machine with only Node 20 and npm to a built Vigil,
// then runs what was asked (start | test | bench). Each step says what it does.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PNPM_VERSION = '10.34.9';
const mode = process.argv[2] ?? 'start';
const rest = process.argv.slice(3);

const say = (msg) => console.log(`[vigil] ${msg}`);
const fail = (msg) => {
  console.error(`\n[vigil] ${msg}\n`);
  process.exit(1);
};

// Daemons live in sbin on Debian, often not on a user's PATH; tools like pnpm are looked up on PATH only.
function which(bin, { sbin = false } = {}) {
  const extra = sbin ? ['/usr/sbin', '/usr/local/sbin', '/usr/bin'] : [];
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...extra];
  for (const d of dirs) {
    const p = path.join(d, bin);
    if (d && existsSync(p)) return p;
  }
  return undefined;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) fail(`${cmd} could not run: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed (exit ${r.status}).`);
}

function pnpmCommand() {
  const onPath = which('pnpm');
  if (onPath) {
    try {
      const v = execFileSync(onPath, ['--version'], { encoding: 'utf8' }).trim();
      if (v.split('.')[0] === PNPM_VERSION.split('.')[0]) return onPath;
    } catch {
      // fall through to the local copy
    }
  }
  const toolsDir = path.join(root, '.vigil', 'tools');
  const local = path.join(toolsDir, 'node_modules', '.bin', 'pnpm');
  if (!existsSync(local)) {
    say(`installing pnpm ${PNPM_VERSION} into .vigil/tools (no global install needed)`);
    mkdirSync(toolsDir, { recursive: true });
    run('npm', [
      'install',
      '--prefix',
      toolsDir,
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `pnpm@${PNPM_VERSION}`,
    ]);
  }
  return local;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let aptUpdated = false;
function aptInstall(packages) {
  if (!isRoot || !which('apt-get', { sbin: true })) return false;
  say(`installing ${packages.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    aptUpdated = true;
  }
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env,
  });
  return r.status === 0;
}

function ensureServers() {
  const missing = [
    ['nats-server', 'nats-server'],
    ['redis-server', 'redis-server'],
  ].filter(([bin]) => !which(bin, { sbin: true }));
  if (missing.length === 0) return;
  if (aptInstall(missing.map(([, pkg]) => pkg)) && missing.every(([bin]) => which(bin, { sbin: true }))) return;
  fail(
    `Vigil needs ${missing.map(([b]) => b).join(' and ')} on this machine and could not install ${
      missing.length > 1 ? 'them' : 'it'
    } (that needs root and apt-get). Install NATS server 2.9 or newer and Redis 7 (Debian/Ubuntu: ` +
      '`sudo apt-get install nats-server redis-server`; macOS: `brew install nats-server redis`), make sure both ' +
      'binaries are on PATH, then run the same command again. Vigil starts its own servers on free ports; ' +
      'nothing needs to be running already.',
  );
}

/** Tools only the deploy checks need; absent ones make those checks skip with a printed reason. */
function ensureDeployTools() {
  if (process.env.VIGIL_SKIP_DEPLOY_TOOLS === '1') return;
  const want = [
    ['docker-compose', 'docker-compose'],
    ['promtool', 'prometheus'],
  ].filter(([bin]) => !which(bin, { sbin: true }));
  if (want.length > 0) aptInstall(want.map(([, pkg]) => pkg));
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 6)) fail(`Vigil needs Node 20.6 or newer; this is ${process.version}.`);

// A second `npm start` of a running stack (same VIGIL_STATE_DIR) stops here, before pnpm install and tsc -b touch
// the node_modules and dist/ that stack runs; the dev stack checks again (two starts at once both pass this one).
if (mode === 'start') {
  const { refuseIfRunning } = await import('./dev-stack/owner.mjs');
  refuseIfRunning();
}

const pnpm = pnpmCommand();
say('installing dependencies (pnpm install --frozen-lockfile)');
run(pnpm, ['install', '--frozen-lockfile', '--reporter=silent']);
say('building (tsc -b)');
run(pnpm, ['exec', 'tsc', '-b']);
ensureServers();

const env = { ...process.env, PATH: `${path.dirname(pnpm)}${path.delimiter}${process.env.PATH}` };
let script;
if (mode === 'start') script = ['scripts/dev-stack.mjs', ...rest];
else if (mode === 'test') {
  ensureDeployTools();
  say('lint + format check (biome)');
  run(pnpm, ['exec', 'biome', 'check', '.'], { env });
  // vitest strips types and `tsc -b` checks src/ only: this checks the tests too, @vigil/* resolved as vitest does.
  say('type-check tests (tsc -p tsconfig.test.json)');
  run(pnpm, ['exec', 'tsc', '-p', 'tsconfig.test.json'], { env });
  script = ['scripts/run-tests.mjs', ...rest];
} else if (mode === 'bench') {
  // The services' production GC setting (deploy/Dockerfile), for every contender in the bench process alike.
  script = ['--max-semi-space-size=64', 'bench/run.mjs', ...rest];
} else fail(`unknown mode ${mode}: use start, test or bench`);

// The child gets the terminal's Ctrl-C directly; we only wait for it and pass on its exit code.
const child = spawn(process.execPath, script, { stdio: 'inherit', cwd: root, env });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
