import { withTimeout } from '@vigil/shared';
import type { KV } from 'nats';
import { EXPIRED_DIGEST_KEY, type ExpiredDigestState } from './expired-digest.js';
import type { GroupState } from './grouping.js';
import { applyJson } from './kv-cas.js';

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** KV key of a group: `<scope>.<kind|type>`, each part base64url so any job or error name is a valid key. */
export function groupKvKey(scope: string, rest: string): string {
  return `${b64url(scope)}.${b64url(rest)}`;
}

/**
 * Alert groups in JetStream KV (`vigil_alert_groups`): survive a restart, shared by replicas. Every change is a
 * compare-and-set on the entry's revision, retried on conflict, so two replicas never both send a "first" email.
 * The same bucket holds the digest of alerts too old to send one by one (`EXPIRED_DIGEST_KEY`, expired-digest.ts).
 */
export class GroupStore {
  constructor(
    private readonly kv: KV,
    /** Bound on listing keys: a listing that stalls must never block start-up or a recovery email. */
    private readonly listTimeoutMs = 5_000,
  ) {}

  private async keys(filter?: string): Promise<string[]> {
    const iter = await this.kv.keys(filter);
    const out: string[] = [];
    const drain = (async () => {
      for await (const k of iter) out.push(k);
    })();
    try {
      await withTimeout(drain, this.listTimeoutMs, undefined, () => iter.stop());
    } catch {
      iter.stop();
      throw new Error(`listing alert groups timed out after ${this.listTimeoutMs} ms (${out.length} keys read)`);
    }
    return out;
  }

  async get(key: string): Promise<{ state?: GroupState; revision: number }> {
    const e = await this.kv.get(key);
    if (!e) return { revision: 0 };
    return { state: e.operation === 'PUT' ? e.json<GroupState>() : undefined, revision: e.revision };
  }

  /**
   * Applies `fn` to the current state with CAS. `fn` returns the next state (or undefined to leave it) and a
   * result; on a concurrent write it runs again on the fresh state.
   */
  async apply<R>(
    key: string,
    fn: (state: GroupState | undefined) => { next?: GroupState; result: R },
    attempts = 20,
  ): Promise<R> {
    return applyJson(this.kv, key, fn, 'group', attempts);
  }

  /** Every alert group (not the digest). */
  async list(): Promise<Array<{ key: string; state: GroupState }>> {
    return this.groups(await this.keys());
  }

  /** The groups under `keys` that exist (the digest's key left out). */
  private async groups(keys: string[]): Promise<Array<{ key: string; state: GroupState }>> {
    const out: Array<{ key: string; state: GroupState }> = [];
    for (const key of keys) {
      if (key === EXPIRED_DIGEST_KEY) continue;
      const { state } = await this.get(key);
      if (state) out.push({ key, state });
    }
    return out;
  }

  async getDigest(): Promise<ExpiredDigestState | undefined> {
    const e = await this.kv.get(EXPIRED_DIGEST_KEY);
    return e?.operation === 'PUT' ? e.json<ExpiredDigestState>() : undefined;
  }

  /** CAS on the digest of expired alerts, like `apply` on a group. */
  async applyDigest<R>(
    fn: (state: ExpiredDigestState | undefined) => { next?: ExpiredDigestState; result: R },
    attempts = 20,
  ): Promise<R> {
    return applyJson(this.kv, EXPIRED_DIGEST_KEY, fn, 'expired-alert digest', attempts);
  }

  /** The groups of one scope (a job), to look at before its recovery closes them. */
  async listScope(scope: string): Promise<GroupState[]> {
    return (await this.groups(await this.keys(`${b64url(scope)}.>`))).map((g) => g.state);
  }

  /**
   * Closes one group, unless `keep` says otherwise or it changed since it was read (then a newer alert is in it:
   * left open). Returns the state it closed.
   */
  async close(key: string, keep: (state: GroupState) => boolean = () => false): Promise<GroupState | undefined> {
    const { state, revision } = await this.get(key);
    if (!state || keep(state)) return undefined;
    try {
      await this.kv.delete(key, { previousSeq: revision });
      return state;
    } catch {
      // changed meanwhile: left open
      return undefined;
    }
  }

  /** Closes every group of a scope (a job recovered); returns the closed states. */
  async closeScope(scope: string): Promise<GroupState[]> {
    const prefix = `${b64url(scope)}.`;
    const closed: GroupState[] = [];
    let keys: string[];
    try {
      keys = await this.keys(`${prefix}>`);
    } catch {
      // Closing groups is best effort: the resolved email matters more; stale groups expire or get re-sent.
      return closed;
    }
    for (const k of keys) {
      // a group changed meanwhile (a new alert arrived after the recovery) is left open
      const state = await this.close(k);
      if (state) closed.push(state);
    }
    return closed;
  }
}
