import type { z } from 'zod';
import { isSecretKey, registerSecretValue } from '../log/index.js';
import { ConfigError, type ConfigProblem } from './config-error.js';

/** sysexits EX_CONFIG: the orchestrator should not restart-loop on a bad environment. */
export const EXIT_CONFIG = 78;

export interface LoadConfigOptions {
  /** true (default): print the message and exit 78. false: throw ConfigError (tests, embedding). */
  exit?: boolean;
}

function reasonFor(issue: z.core.$ZodIssue, raw: string | undefined): string {
  if (raw === undefined && issue.path.length <= 1) return 'is required but not set';
  return issue.message.replace(/^Invalid input: /, 'is invalid: ');
}

/**
 * Reads the environment through a zod schema. Empty strings count as unset (`FOO=` in a compose file).
 * On failure every bad variable is named in ONE message, never its value (it may be a secret).
 */
export function loadConfig<T extends z.ZodType>(
  schema: T,
  env: Record<string, string | undefined> = process.env,
  { exit = true }: LoadConfigOptions = {},
): z.infer<T> {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  registerEnvSecrets(cleaned);
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;

  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  for (const issue of result.error.issues) {
    const variable = issue.path.map(String).join('.') || '(environment)';
    if (seen.has(variable)) continue;
    seen.add(variable);
    problems.push({ variable, reason: reasonFor(issue, cleaned[String(issue.path[0])]) });
  }
  const error = new ConfigError(problems);
  if (!exit) throw error;
  process.stderr.write(`${JSON.stringify({ level: 'fatal', code: error.code, msg: error.message, problems })}\n`);
  process.exit(EXIT_CONFIG);
}

/** The shell's working directories: `PWD` reads like a password key, but scrubbing `/app` would blank every path. */
const NOT_SECRET_ENV = new Set(['PWD', 'OLDPWD']);

/**
 * Values of secret-looking variables (VIGIL_API_TOKEN, NATS_PASSWORD, AWS_SECRET_ACCESS_KEY, ...) are scrubbed
 * from every log line from now on. Short or trivial values are skipped: scrubbing "true" would wreck logs.
 */
function registerEnvSecrets(env: Record<string, string>): void {
  for (const [k, v] of Object.entries(env)) {
    if (NOT_SECRET_ENV.has(k)) continue;
    if (v.length >= 8 && !/^(true|false|\d+)$/i.test(v) && isSecretKey(k)) registerSecretValue(v);
  }
}

/** The build's commit for /version, from VIGIL_COMMIT or GIT_COMMIT (set by the image build). */
export function buildCommit(env: Record<string, string | undefined> = process.env): string {
  return env.VIGIL_COMMIT || env.GIT_COMMIT || 'unknown';
}
