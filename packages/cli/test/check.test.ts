import { mkdtempSync, writeFileSync } from 'node:fs';
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

  it('a module: handler whose file is missing is an error; one that exists is fine (not imported)', async () => {
    const jobs = (mod: string) => `jobs:\n  mine:\n    every: 1h\n    handler: module:./${mod}\n`;
    // would throw if the check imported it
    const extra = { 'ok.mjs': 'throw new Error("imported");\n' };
    expect((await cli('check', file(jobs('ok.mjs'), extra))).code).toBe(0);
    const missing = await cli('check', file(jobs('gone.mjs'), extra));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/jobs\.yaml:4:\d+ jobs\.mine\.handler: \S*gone\.mjs does not exist/);
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
