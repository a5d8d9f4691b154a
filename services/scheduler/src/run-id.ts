/** runIds are NATS-token and KV-key safe: `<job>.<slot epoch seconds>[.backup<n>]`, or a ULID for manual runs. */
export function slotRunId(job: string, slotMs: number): string {
  return `${job}.${Math.floor(slotMs / 1000)}`;
}

export function backupRunId(runId: string, n = 1): string {
  return `${runId}.backup${n}`;
}

/** KV keys may not contain some characters a ULID never has; runIds built here are already safe. */
export function runKey(runId: string): string {
  return runId.replace(/[^-/_=.a-zA-Z0-9]/g, '_');
}
