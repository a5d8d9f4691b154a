// Helpers for the deploy tests: where things are, which tools exist, and which variables are documented.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const deployDir = path.join(root, 'deploy');

// The root package has no YAML parser of its own; @vigil/shared depends on `yaml`, so resolve it from there
// rather than adding a root dependency for two test files.
const requireFromShared = createRequire(path.join(root, 'packages', 'shared', 'package.json'));
const YAML = requireFromShared('yaml') as {
  parse(text: string): unknown;
  parseAllDocuments(text: string): Array<{ toJS(): unknown }>;
};

export const parseYaml = (text: string): unknown => YAML.parse(text);
export const parseYamlDocuments = (text: string): unknown[] =>
  YAML.parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((d) => d !== null && d !== undefined);

/** Absolute path of a tool on PATH (or in sbin), or undefined. */
export function which(bin: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'];
  for (const d of dirs) {
    const p = path.join(d, bin);
    if (d && existsSync(p)) return p;
  }
  return undefined;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? root,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message || '') };
}

/** `kubectl kustomize` output as objects. */
export function kustomize(dir: string): Array<Record<string, unknown>> {
  const out = execFileSync('kubectl', ['kustomize', dir], { cwd: root, encoding: 'utf8' });
  return parseYamlDocuments(out) as Array<Record<string, unknown>>;
}

/** Every `UPPER_CASE` name in backticks in the first column of a markdown table under `heading`. */
export function variablesInTable(markdown: string, heading: RegExp): Set<string> {
  const names = new Set<string>();
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^#{1,6} /.test(l) && heading.test(l));
  if (start < 0) return names;
  const level = /^(#+)/.exec(lines[start])?.[1].length ?? 2;
  for (const line of lines.slice(start + 1)) {
    const h = /^(#+) /.exec(line);
    if (h && h[1].length <= level) break;
    if (!line.startsWith('|')) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(m[1]);
  }
  return names;
}

/** The contract sits beside the repository (`../shared/CONTRACT.md`), as CI clones it. */
export function contractPath(): string | undefined {
  // The contract beside the repository (as CI lays it out), else the copy the repository ships in docs/.
  const candidates = [
    path.join(root, '..', 'shared', 'CONTRACT.md'),
    path.join(root, 'shared', 'CONTRACT.md'),
    path.join(root, 'docs', 'CONTRACT.md'),
  ];
  return candidates.find((p) => existsSync(p));
}

export const readText = (p: string): string => readFileSync(p, 'utf8');
