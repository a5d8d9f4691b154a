import { errorMessage } from '../errors/error-message.js';
import { withTimeout } from '../lifecycle/with-timeout.js';
import { scrubSecrets } from '../log/secret-values.js';

export type CheckFn = () => Promise<void> | void;

export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export type ReadinessPhase = 'starting' | 'running' | 'stopping';

export interface ReadinessReport {
  ready: boolean;
  phase: ReadinessPhase;
  checks: Record<string, CheckResult>;
}

/** What /health/ready asks; createReadiness() builds one, anything with evaluate() will do. */
export interface ReadinessSource {
  evaluate(): Promise<ReadinessReport>;
}

export interface Readiness extends ReadinessSource {
  /** A check passes when it resolves and fails when it throws or takes longer than the timeout. */
  addCheck(name: string, fn: CheckFn): void;
  phase: ReadinessPhase;
  /** Cached last answer, for cheap callers (the NATS health endpoint answers from a fresh evaluate too). */
  readonly ready: boolean;
}

async function runCheck(fn: CheckFn, timeoutMs: number): Promise<CheckResult> {
  const t0 = performance.now();
  let late = false;
  try {
    await withTimeout(Promise.resolve().then(fn), timeoutMs, undefined, () => {
      late = true;
    });
    return { ok: true, latencyMs: Math.round((performance.now() - t0) * 100) / 100 };
  } catch (err) {
    const message = late ? `check timed out after ${timeoutMs}ms` : errorMessage(err);
    return {
      ok: false,
      latencyMs: Math.round((performance.now() - t0) * 100) / 100,
      // Readiness answers go to anyone who can reach the port: no secret values in them.
      error: scrubSecrets(message),
    };
  }
}

/**
 * Ready only while running (start-up finished, not shutting down) and every check passes. Checks run in
 * parallel, each bounded by `checkTimeoutMs`, so a hung dependency shows up as a failed check, not a hung probe.
 */
export function createReadiness({ checkTimeoutMs = 2_000 }: { checkTimeoutMs?: number } = {}): Readiness {
  const checks = new Map<string, CheckFn>();
  let last = false;
  const readiness: Readiness = {
    phase: 'starting',
    get ready() {
      return last;
    },
    addCheck(name, fn) {
      checks.set(name, fn);
    },
    async evaluate() {
      const entries = await Promise.all(
        [...checks].map(async ([name, fn]) => [name, await runCheck(fn, checkTimeoutMs)] as const),
      );
      const results = Object.fromEntries(entries);
      const phase = readiness.phase;
      last = phase === 'running' && entries.every(([, r]) => r.ok);
      return { ready: last, phase, checks: results };
    },
  };
  return readiness;
}
