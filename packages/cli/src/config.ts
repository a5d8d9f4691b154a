import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';

/** The CLI's environment: where NATS is and how to log in (contract §3). */
export interface CliEnv {
  natsUrl: string;
  /**
   * Where `natsUrl` came from, said when nothing answers there: `from NATS_URL`, `from the dev stack's env file <path>`,
   * or `default: …` with why no other was found (absent when the caller gave the URL itself, as tests do).
   */
  natsUrlSource?: string;
  creds?: string;
  user?: string;
  password?: string;
  /** Who runs the CLI: recorded as `requestedBy` of manual triggers. */
  userName: string;
  /** `vigil check` without a file: the services' own variable, else `jobs.yaml`. */
  jobsFile?: string;
  /**
   * The words that run this CLI again, for the commands it prints: the dev stack's wrapper (`<state dir>/vigil`, which
   * sets VIGIL_CLI), `npx vigil` under npx, else (and when absent) `vigil`, installed on the PATH.
   */
  command?: string[];
}

/**
 * `npm start` may put its NATS on a free port when 4222 is taken, and writes the URL to `.vigil/env`;
 * reading it means `npx vigil …` anywhere in the repo (the nearest `.vigil/env` up from the working directory)
 * talks to the dev stack without an export, instead of to whatever else listens on 4222. A stack started with
 * `VIGIL_STATE_DIR` keeps its `env` there, and the same variable points the CLI at it. Without a URL there,
 * `source` says why the default is used (which file was looked for, or that it has no `NATS_URL=` line).
 */
function devStackNatsUrl(cwd: string, stateDir: string | undefined): { url?: string; source: string } {
  const file = stateDir ? path.join(path.resolve(cwd, stateDir), 'env') : nearestDevStackEnv(cwd);
  if (!file || !existsSync(file)) {
    return {
      source: stateDir
        ? `default: no NATS_URL, and no dev stack env file ${file} (VIGIL_STATE_DIR=${stateDir})`
        : `default: no NATS_URL, and no .vigil/env in ${path.resolve(cwd)} or a folder above`,
    };
  }
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('NATS_URL='));
  const url = line?.slice('NATS_URL='.length).trim() || undefined;
  return url
    ? { url, source: `from the dev stack's env file ${file}` }
    : { source: `default: no NATS_URL, and the dev stack's env file ${file} has no NATS_URL= line` };
}

function nearestDevStackEnv(cwd: string): string | undefined {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, '.vigil', 'env');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** `url` as it may be printed: no user, password or token (`nats://***@host:4222`), per server of a list. */
export function redactNatsUrl(url: string): string {
  return url
    .split(',')
    .map((s) => s.trim().replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?)[^@/?#]*@/i, '$1***@'))
    .join(',');
}

/** `<url> (<where it came from>)`, credentials left out: what a "cannot reach" or "no answer" message names. */
export function natsWhere(env: Pick<CliEnv, 'natsUrl' | 'natsUrlSource'>): string {
  return `${redactNatsUrl(env.natsUrl)}${env.natsUrlSource ? ` (${env.natsUrlSource})` : ''}`;
}

export function cliEnv(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): CliEnv {
  const dev = env.NATS_URL ? undefined : devStackNatsUrl(cwd, env.VIGIL_STATE_DIR || undefined);
  return {
    natsUrl: env.NATS_URL || dev?.url || 'nats://127.0.0.1:4222',
    natsUrlSource: dev?.source ?? 'from NATS_URL',
    creds: env.NATS_CREDS || undefined,
    user: env.NATS_USER || undefined,
    jobsFile: env.VIGIL_JOBS_FILE || undefined,
    password: env.NATS_PASSWORD || undefined,
    userName: env.USER || env.USERNAME || loginName() || 'unknown',
    command: env.VIGIL_CLI ? [env.VIGIL_CLI] : env.npm_command === 'exec' ? ['npx', 'vigil'] : ['vigil'],
  };
}

/** The account running the CLI when the shell exports no USER (containers, cron, sudo -i). */
function loginName(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    // no passwd entry for this uid (a container running as an arbitrary uid)
    return undefined;
  }
}
