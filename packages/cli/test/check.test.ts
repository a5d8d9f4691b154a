import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** `vigil check` needs no NATS: it is what an operator runs before deploying an edited jobs file. */
describe('vigil check <jobs file>', () => {
  const env = { natsUrl: 'nats://127.0.0.1:1', userName: 'test' };
  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { env, io: { out: (t) => out.push(t), err: (t) => err.push(t) } });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const file = (text: string, extra: Record<string, string> = {}) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-check-'));
    for (const [name, content] of Object.entries(extra)) writeFileSync(path.join(dir, name), content);
    writeFileSync(path.join(dir, 'jobs.yaml'), text);
    return path.join(dir, 'jobs.yaml');
  };

  it('accepts the example jobs file and lists its jobs', async () => {
    const r = await cli('check', path.join(root, 'examples/jobs.yaml'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/examples\/jobs\.yaml: valid, \d+ jobs/);
    expect(r.out).toMatch(/^JOB\s+HANDLER\s+SCHEDULE\s+TZ\s+TARGETS/m);
  });

  it('prints every problem on its own line with its line number, and exits 1', async () => {
    const f = file(`jobs:
  nightly:
    schedule: "61 * * * *"
    handler: report.daily
  sync:
    schedule: "0 6 * * *"
    timezone: Mars/Olympus
    handler: htp
  mine:
    every: 1h
    handler: module:./nope.mjs
`);
    const r = await cli('check', f);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const lines = r.err.split('\n');
    expect(lines[0]).toBe(`vigil: ${f} is invalid (4 errors):`);
    // a missing module is reported with the others, at its line
    expect(
      lines.some((l) => /^ {2}\S*jobs\.yaml:11:\d+ jobs\.mine\.handler: \S*nope\.mjs does not exist/.test(l)),
    ).toBe(true);
    expect(lines.some((l) => /^ {2}\S*jobs\.yaml:3:\d+ .*schedule/.test(l))).toBe(true);
    expect(lines.some((l) => /^ {2}\S*jobs\.yaml:7:\d+ .*Mars\/Olympus/.test(l))).toBe(true);
    expect(lines.some((l) => /^ {2}\S*jobs\.yaml:8:\d+ .*unknown handler "htp"/.test(l))).toBe(true);
  });

  it('a module: handler is loaded as the runner loads it: top-level code runs, validate and run do not', async () => {
    const jobs = (mod: string) => `jobs:\n  mine:\n    every: 1h\n    handler: module:./${mod}\n`;
    const f = file(jobs('handlers/ok.mjs'));
    const dir = path.dirname(f);
    const marks = path.join(dir, 'marks');
    mkdirSync(marks);
    mkdirSync(path.join(dir, 'handlers'));
    // a real module's top level: writes a mark, leaves a timer running, prints (none of it reaches the CLI's output)
    writeFileSync(
      path.join(dir, 'handlers', 'ok.mjs'),
      `import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(path.join(marks, 'loaded'))}, '');
setInterval(() => {}, 1000);
console.log('top-level noise');
export default {
  validate() { writeFileSync(${JSON.stringify(path.join(marks, 'validated'))}, ''); },
  run() { writeFileSync(${JSON.stringify(path.join(marks, 'ran'))}, ''); },
};
`,
    );
    const ok = await cli('check', f);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/jobs\.yaml: valid, 1 job, 1 handler module loaded\n/);
    expect(ok.out).not.toMatch(/noise/);
    expect(readdirSync(marks)).toEqual(['loaded']);
    const missing = await cli('check', file(jobs('gone.mjs')));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/jobs\.yaml:4:\d+ jobs\.mine\.handler: \S*gone\.mjs does not exist/);
  });

  it('a module: handler that does not load or exports no handler is a problem of its job, with the file', async () => {
    const modules: Record<string, string> = {
      // the walkthrough's case: a syntax error, said with its line
      'syntax.mjs': 'export default {\n  run() {\n    return 1 +;\n  },\n};\n',
      'uses-syntax.mjs': "import './syntax.mjs';\nexport default { run() {} };\n",
      'no-default.mjs': 'export function run() {}\n',
      'no-run.mjs': 'export default { validate() {} };\n',
      'a-function.mjs': 'export default async function run() {}\n',
      'bad-validate.mjs': 'export default { validate: "yes", run() {} };\n',
      'throws.mjs': 'throw new Error("no config at load time");\n',
      'bad-import.mjs': "import './not-there.mjs';\nexport default { run() {} };\n",
      'exits.mjs': 'process.exit(3);\n',
      'good.cjs': 'module.exports = { run() {} };\n',
    };
    const names = Object.keys(modules);
    const text = `jobs:\n${names.map((m, i) => `  job${i}:\n    every: 1h\n    handler: module:./jobs/${m}\n`).join('')}`;
    const f = file(text);
    const dir = path.join(path.dirname(f), 'jobs');
    mkdirSync(dir);
    for (const [name, content] of Object.entries(modules)) writeFileSync(path.join(dir, name), content);

    const r = await cli('check', f);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const lines = r.err.split('\n');
    expect(lines[0]).toBe(`vigil: ${f} is invalid (9 errors):`);
    /** The problem line of the job using `name`: at its handler line, naming the module's absolute path. */
    const problem = (name: string) => {
      const i = names.indexOf(name);
      const line = lines.find((l) => l.startsWith(`  ${f}:${4 + 3 * i}:`));
      expect(line, name).toBeDefined();
      expect(line).toContain(` jobs.job${i}.handler: ${path.join(dir, name)}`);
      return line;
    };
    expect(problem('syntax.mjs')).toMatch(
      new RegExp(`does not load: SyntaxError: Unexpected token ';' \\(at ${path.join(dir, 'syntax.mjs')}:3\\)$`),
    );
    expect(problem('uses-syntax.mjs')).toMatch(/does not load: SyntaxError: .*\(at \S*syntax\.mjs:3\)$/);
    const shape = ': default export must be defineHandler({ validate?, run }): ';
    expect(problem('no-default.mjs')).toContain(`${shape}there is no default export (it exports run)`);
    expect(problem('no-run.mjs')).toContain(`${shape}the default export has no run function`);
    expect(problem('a-function.mjs')).toContain(`${shape}the default export is a function`);
    expect(problem('bad-validate.mjs')).toContain(`${shape}its validate is a string, not a function`);
    expect(problem('throws.mjs')).toMatch(/does not load: Error: no config at load time$/);
    expect(problem('bad-import.mjs')).toMatch(/does not load: Error: Cannot find module '\S*not-there\.mjs'/);
    expect(problem('exits.mjs')).toMatch(/does not load: node exited with code 3 while loading it$/);
    // a CommonJS module whose exports are a handler loads as the runner imports it
    expect(lines.some((l) => l.includes('good.cjs'))).toBe(false);
  });

  it('--json prints the jobs for machines; a file that is not there is a usage error', async () => {
    const r = await cli('--json', 'check', file('jobs:\n  a:\n    every: 5m\n    handler: health.daily\n'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ valid: true, jobs: [{ name: 'a', schedule: 'every 5m' }] });
    const gone = await cli('check', '/nonexistent/jobs.yaml');
    expect(gone.code).toBe(2);
    expect(gone.err).toBe('vigil: jobs file /nonexistent/jobs.yaml does not exist');
    // no file given: it says where it looked and why
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-check-'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const none = await cli('check');
      expect(none.code).toBe(2);
      expect(none.err).toBe(
        `vigil: jobs file ${path.join(process.cwd(), 'jobs.yaml')} does not exist (no file given and VIGIL_JOBS_FILE not set; usage: vigil check <file>)`,
      );
    } finally {
      process.chdir(cwd);
    }
  });
});
