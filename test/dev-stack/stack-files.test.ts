// The parts of `npm start` (scripts/dev-stack/*.mjs) that decide ports, files and command lines, without a stack:
// which output line means "my port is taken", the jobs copy with this stack's ports, the CLI lines that reach a
// stack in another VIGIL_STATE_DIR, whose answer counts as ready, and the second `npm start` refused up front.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseJobsFile } from '@vigil/shared';
import { startNats } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertCliSchema } from '@vigil/shared';
import { ALERT_CLI_PATTERN, cliCommands, writeWrapper } from '../../scripts/dev-stack/cli.mjs';
import { takenPort } from '../../scripts/dev-stack/ports.mjs';
import {
  movedPorts,
  stackJobsText,
  USUAL_PORTS,
  watchSource,
  writeStackJobs,
} from '../../scripts/dev-stack/stack-jobs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const examples = path.join(root, 'examples', 'jobs.yaml');
const tmp = mkdtempSync(path.join(tmpdir(), 'vigil-test-dev-stack-files-'));
// owner.mjs and readiness.mjs import paths.mjs, which makes the state dir: a temp one, never the checkout's .vigil.
const stateDir = path.join(tmp, 'state');

let owner: typeof import('../../scripts/dev-stack/owner.mjs');
let processes: typeof import('../../scripts/dev-stack/processes.mjs');
let readiness: typeof import('../../scripts/dev-stack/readiness.mjs');

beforeAll(async () => {
  process.env.VIGIL_STATE_DIR = stateDir;
  owner = await import('../../scripts/dev-stack/owner.mjs');
  processes = await import('../../scripts/dev-stack/processes.mjs');
  readiness = await import('../../scripts/dev-stack/readiness.mjs');
});
afterAll(() => {
  delete process.env.VIGIL_STATE_DIR;
  rmSync(tmp, { recursive: true, force: true });
});

describe('takenPort: the output line that says a child could not bind its port', () => {
  it('reads it from a service, nats-server, Redis and maildev', () => {
    const service =
      '{"level":"fatal","service":"secrets","msg":"start-up failed","err":{"type":"Error","message":"listen ' +
      'EADDRINUSE: address already in use 127.0.0.1:8083","stack":"Error: listen EADDRINUSE: …"}}';
    expect(takenPort(service, [8083])).toBe(8083);
    expect(
      takenPort(
        '[1] 2026/12/06 01:03:26.226984 [FTL] Error listening on port: 127.0.0.1:4222, "listen tcp 127.0.0.1:4222: bind: address already in use"',
        [4222],
      ),
    ).toBe(4222);
    expect(
      takenPort(
        '13668:M 06 Dec 2026 01:03:26.272 # Warning: Could not create server TCP listening socket 127.0.0.1:6379: bind: Address already in use',
        [6379],
      ),
    ).toBe(6379);
    // maildev binds two ports: the line says which one is taken.
    expect(takenPort('Error: listen EADDRINUSE: address already in use 127.0.0.1:8025', [1025, 8025])).toBe(8025);
  });

  it('ignores lines about other ports, and lines that are not about a port in use', () => {
    expect(takenPort('listen EADDRINUSE: address already in use 127.0.0.1:80831', [8083])).toBeUndefined();
    expect(takenPort('connect EADDRINUSE 10.0.0.5:443 (an http job)', [8081])).toBeUndefined();
    expect(takenPort('{"msg":"listening on http://127.0.0.1:8083"}', [8083])).toBeUndefined();
  });
});

describe("the jobs copy (examples/jobs.yaml with this stack's ports)", () => {
  const source = readFileSync(examples, 'utf8');

  it("points api-ping at this stack's reports port, and is a valid jobs file line for line the source", () => {
    const text = stackJobsText(source, { sourceFile: examples, moved: movedPorts({ ...USUAL_PORTS, reports: 41081 }) });
    const jobs = parseJobsFile(text, 'jobs.yaml').jobs;
    expect(jobs['api-ping'].options.url).toBe('http://127.0.0.1:41081/health/live');
    expect(Object.keys(jobs)).toEqual(Object.keys(parseJobsFile(source, 'jobs.yaml').jobs));
    // Line numbers in the services' messages about the copy are the source's.
    const lines = source.replace(/\n$/, '').split('\n');
    expect(text.split('\n').slice(0, lines.length)).toEqual(lines.map((l) => l.replace(':8081/', ':41081/')));
    expect(text).toContain(`from ${examples}`);
  });

  it('changes no URL when every service has its usual port', () => {
    const text = stackJobsText(source, { sourceFile: examples, moved: movedPorts(USUAL_PORTS) });
    expect(text.startsWith(source)).toBe(true);
    expect(parseJobsFile(text, 'jobs.yaml').jobs['api-ping'].options.url).toBe('http://127.0.0.1:8081/health/live');
  });

  it("moves loopback URLs of any service's usual port, nothing else; makes module: and cwd: paths absolute", () => {
    const text = stackJobsText(
      [
        'a: "http://127.0.0.1:8080/api/jobs"',
        'b: http://localhost:8084/x',
        'c: http://127.0.0.1:9999/y',
        'd: https://example.com:8081/z',
        'e: http://127.0.0.1:80811/',
        'handler: module:./handlers/uptime-digest.mjs',
        'handler2: "module:/abs/h.mjs"',
        'command: { run: ["./x.sh"], cwd: scripts }',
      ].join('\n'),
      {
        sourceFile: examples,
        moved: new Map([
          [8080, 40080],
          [8084, 40084],
          [8081, 40081],
        ]),
      },
    );
    const lines = text.split('\n');
    expect(lines.slice(0, 8)).toEqual([
      'a: "http://127.0.0.1:40080/api/jobs"',
      'b: http://localhost:40084/x',
      'c: http://127.0.0.1:9999/y',
      'd: https://example.com:8081/z',
      'e: http://127.0.0.1:80811/',
      `handler: module:${path.join(root, 'examples', 'handlers', 'uptime-digest.mjs')}`,
      'handler2: "module:/abs/h.mjs"',
      `command: { run: ["./x.sh"], cwd: ${path.join(root, 'examples', 'scripts')} }`,
    ]);
  });

  it('is written only when it changes (every write makes the services reload it)', () => {
    const target = path.join(tmp, 'jobs.yaml');
    expect(writeStackJobs(examples, target, { reports: 41081 })).toBe(target);
    const first = readFileSync(target, 'utf8');
    writeFileSync(target, first); // same content, new mtime
    const before = readFileSync(target, 'utf8');
    expect(writeStackJobs(examples, target, { reports: 41081 })).toBe(target);
    expect(readFileSync(target, 'utf8')).toBe(before);
    writeStackJobs(examples, target, { reports: 41082 });
    expect(readFileSync(target, 'utf8')).toContain('127.0.0.1:41082/health/live');
    // No source to copy: the services are given the source path, and say it is missing.
    expect(writeStackJobs(path.join(tmp, 'nope.yaml'), target, {})).toBe(path.join(tmp, 'nope.yaml'));
  });

  it('follows edits of the source, also when an editor replaces the file', async () => {
    const dir = mkdtempSync(path.join(tmp, 'src-'));
    const source = path.join(dir, 'jobs.yaml');
    const target = path.join(tmp, 'followed.yaml');
    writeFileSync(source, 'jobs: {}\n');
    const update = () => writeStackJobs(source, target, { reports: 41081 });
    update();
    const watcher = watchSource(source, update);
    try {
      writeFileSync(
        `${source}.swp`,
        'jobs:\n  a: { every: 1m, handler: http, http: { url: "http://127.0.0.1:8081/" } }\n',
      );
      renameSync(`${source}.swp`, source);
      const until = Date.now() + 5_000;
      while (Date.now() < until && !readFileSync(target, 'utf8').includes(':41081/')) await sleep(50);
      expect(readFileSync(target, 'utf8')).toContain('url: "http://127.0.0.1:41081/"');
    } finally {
      watcher?.close();
    }
  });
});

describe('CLI lines that reach this stack', () => {
  it('are plain `npx vigil` for the default state dir', () => {
    expect(cliCommands({ state: path.join(root, '.vigil'), isDefaultState: true })).toEqual({
      shell: 'npx vigil',
      alert: 'npx vigil',
    });
  });

  it('carry VIGIL_STATE_DIR for another one; the alert line (no VAR=value allowed) is its wrapper', () => {
    const cli = cliCommands({ state: '/tmp/vigil b', isDefaultState: false });
    expect(cli.shell).toBe("VIGIL_STATE_DIR='/tmp/vigil b' npx vigil");
    expect(cli.alert).toBe('/tmp/vigil b/vigil');
    // The services' own rule (ALERT_CLI of the notifier and reports), so the line passes their config check.
    expect(alertCliSchema.safeParse(cli.alert).success).toBe(true);
    expect(alertCliSchema.safeParse(cli.shell).success).toBe(false);
    expect(ALERT_CLI_PATTERN.test(cli.alert!)).toBe(true);
    expect(cliCommands({ state: `/tmp/${'x'.repeat(70)}`, isDefaultState: false }).alert).toBeUndefined();
    expect(cliCommands({ state: '/tmp/a=b', isDefaultState: false }).alert).toBeUndefined();
  });

  it("the wrapper runs the checkout's CLI against the stack's env file, from any directory", () => {
    const state = path.join(tmp, 'other-stack');
    rmSync(state, { recursive: true, force: true });
    mkdirSync(state, { recursive: true });
    writeFileSync(path.join(state, 'env'), 'NATS_URL=nats://127.0.0.1:1\n');
    const { wrapper } = cliCommands({ state, isDefaultState: false });
    writeWrapper({ state, root, wrapper: wrapper! });
    const env = { ...process.env };
    delete env.NATS_URL;
    delete env.VIGIL_STATE_DIR;
    const r = spawnSync(wrapper!, ['jobs'], { cwd: '/', env, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('nats://127.0.0.1:1');
    expect(r.stderr).toContain(path.join(state, 'env'));
  });

  it('the commands the CLI prints to paste name the wrapper, not a bare `vigil` that is on no PATH', async () => {
    const nats = await startNats();
    try {
      const state = path.join(tmp, 'paste-stack');
      mkdirSync(state, { recursive: true });
      writeFileSync(path.join(state, 'env'), `NATS_URL=${nats.url}\n`);
      const { wrapper } = cliCommands({ state, isDefaultState: false });
      writeWrapper({ state, root, wrapper: wrapper! });
      const env = { ...process.env };
      delete env.NATS_URL;
      delete env.VIGIL_STATE_DIR;
      delete env.VIGIL_CLI;
      // no scheduler answers: the CLI prints the command that queues the same run
      const r = spawnSync(wrapper!, ['trigger', 'heartbeat', '--reason', 'paste me'], {
        cwd: '/',
        env,
        encoding: 'utf8',
      });
      expect(r.status).toBe(1);
      const line = /`([^`]+ --queue [^`]+)`/.exec(r.stderr)?.[1];
      expect(line).toMatch(
        new RegExp(
          `^${wrapper!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} trigger heartbeat --id \\S+ --queue --reason 'paste me'$`,
        ),
      );
    } finally {
      await nats.stop();
    }
  });
});

describe('whose answer counts as ready', () => {
  it("trusts an answer's own pid or instance id, and has none to go by in today's answers", () => {
    expect(readiness.answeredBy({ ready: true, pid: 42 }, 42)).toBe(true);
    expect(readiness.answeredBy({ ready: true, pid: 43 }, 42)).toBe(false);
    expect(readiness.answeredBy({ instance: 'host-a-b-42-9f3c' }, 42)).toBe(true);
    expect(readiness.answeredBy({ instance: 'host-42-9f3c' }, 4)).toBe(false);
    expect(readiness.answeredBy({ ready: true, phase: 'running', checks: {} }, 42)).toBeUndefined();
    expect(readiness.answeredBy(undefined, 42)).toBeUndefined();
  });
});

describe('a second npm start of a running stack', () => {
  it('recognises the running one by pid and start time', () => {
    const me = { pid: process.pid, id: processes.identity(process.pid) };
    expect(owner.runningOwner({ devStack: me }, -1)).toEqual({ pid: process.pid });
    expect(owner.runningOwner({ devStack: me })).toBeUndefined(); // itself
    expect(owner.runningOwner({ devStack: { ...me, id: 'another-start-time' } }, -1)).toBeUndefined();
    expect(owner.runningOwner(undefined, -1)).toBeUndefined();
  });

  it('is refused by the bootstrap before it installs or builds anything', () => {
    const state = path.join(tmp, 'running-stack');
    mkdirSync(state, { recursive: true });
    // This test process stands in for the running `npm start` of that state dir.
    writeFileSync(
      path.join(state, 'pids.json'),
      JSON.stringify({ devStack: { pid: process.pid, id: processes.identity(process.pid) }, children: [] }),
    );
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'bootstrap.mjs'), 'start'], {
      cwd: root,
      env: { ...process.env, VIGIL_STATE_DIR: state },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`another \`npm start\` (pid ${process.pid}) is running the stack in ${state}`);
    expect(r.stdout).not.toMatch(/installing|building/);
  });
});
