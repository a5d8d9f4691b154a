/** The CLI's environment: where NATS is and how to log in (contract §3). */
export interface CliEnv {
  natsUrl: string;
  creds?: string;
  user?: string;
  password?: string;
  /** Who runs the CLI: recorded as `requestedBy` of manual triggers. */
  userName: string;
}

export function cliEnv(env: Record<string, string | undefined> = process.env): CliEnv {
  return {
    natsUrl: env.NATS_URL || 'nats://127.0.0.1:4222',
    creds: env.NATS_CREDS || undefined,
    user: env.NATS_USER || undefined,
    password: env.NATS_PASSWORD || undefined,
    userName: env.USER || env.USERNAME || 'unknown',
  };
}
