/**
 * The run a skipped slot waited for: `run <id> is still running (concurrency forbid)`, or one that was requested and
 * never started, `run <id> is queued since 14:03 UTC and has not started (concurrency forbid)` (`queuedSince` set).
 */
export function skippedWaitedFor(reason: string | undefined): { runId: string; queuedSince?: string } | undefined {
  const queued = /\brun (\S+) is queued since (.+?) and has not started/.exec(reason ?? '');
  if (queued) return { runId: queued[1], queuedSince: queued[2] };
  const running = /\brun (\S+) is still running/.exec(reason ?? '')?.[1];
  return running ? { runId: running } : undefined;
}
