import type { KV } from 'nats';
import type { GroupState } from './grouping.js';

const encoder = new TextEncoder();

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
 */
export class GroupStore {
  constructor(private readonly kv: KV) {}

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
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      const { state, revision } = await this.get(key);
      const { next, result } = fn(state);
      if (!next) return result;
      const data = encoder.encode(JSON.stringify(next));
      try {
        if (revision === 0) await this.kv.create(key, data);
        else await this.kv.update(key, data, revision);
        return result;
      } catch (err) {
        lastErr = err; // someone else wrote first: read again
      }
    }
    throw lastErr instanceof Error ? lastErr : new Error('group update kept conflicting');
  }

  async list(): Promise<Array<{ key: string; state: GroupState }>> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    const out: Array<{ key: string; state: GroupState }> = [];
    for (const key of keys) {
      const { state } = await this.get(key);
      if (state) out.push({ key, state });
    }
    return out;
  }

  /** Closes every group of a scope (a job recovered); returns the closed states. */
  async closeScope(scope: string): Promise<GroupState[]> {
    const prefix = `${b64url(scope)}.`;
    const closed: GroupState[] = [];
    for await (const k of await this.kv.keys(`${prefix}>`)) {
      const { state, revision } = await this.get(k);
      if (!state) continue;
      try {
        await this.kv.delete(k, { previousSeq: revision });
        closed.push(state);
      } catch {
        // changed meanwhile: a new alert arrived after the recovery; leave it open
      }
    }
    return closed;
  }
}
