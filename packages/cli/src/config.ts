import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';

/** The CLI's environment: where NATS is and how to log in (contract §3). */
export interface CliEnv {
  natsUrl: string;
  creds?: string;
  user?: string;
  password?: string;
  /** Who runs the CLI: recorded as `requestedBy` of manual triggers. */
  userName: string;
  /** `vigil check` without a file: the services' own variable, else `jobs.yaml`. */
  jobsFile?: string;
}

/**
 * `npm start` may put its NATS on a free port when 4222 is taken, and writes the URL to `.vigil/env`;
 * reading it means `npx vigil …` anywhere in the repo (the nearest `.vigil/env` up from the working directory)
 * talks to the dev stack without an export, instead of to whatever else listens on 4222. A stack started with
 * `VIGIL_STATE_DIR` keeps its `env` there, and the same variable points the CLI at it.
 */
function devStackNatsUrl(cwd: string, stateDir: string | undefined): string | undefined {
  const file = stateDir ? path.join(path.resolve(cwd, stateDir), 'env') : nearestDevStackEnv(cwd);
  if (!file || !existsSync(file)) return undefined;
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('NATS_URL='));
  return line?.slice('NATS_URL='.length).trim() || undefined;
}

function nearestDevStackEnv(cwd: string): string | undefined {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, '.vigil', 'env');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function cliEnv(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): CliEnv {
  return {
    natsUrl: env.NATS_URL || devStackNatsUrl(cwd, env.VIGIL_STATE_DIR || undefined) || 'nats://127.0.0.1:4222',
    creds: env.NATS_CREDS || undefined,
    user: env.NATS_USER || undefined,
    jobsFile: env.VIGIL_JOBS_FILE || undefined,
    password: env.NATS_PASSWORD || undefined,
    userName: env.USER || env.USERNAME || loginName() || 'unknown',
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
