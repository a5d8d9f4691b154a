import type { KV, KvEntry } from 'nats';
import type { Logger } from '@vigil/shared';
import { decodeJson } from './kv-json.js';

/**
 * Every replica keeps a live in-memory copy of a KV bucket (watch with the last values, then updates), so
 * reads for the API, the watchdogs and conflict checks cost no round trip.
 */
export class LiveMap<T> {
  readonly values = new Map<string, T>();
  private stopped = false;
  private watcher?: { stop(): void };
  private listeners: ((key: string, value: T | undefined) => void)[] = [];
  /** The newest bucket revision this copy has applied. */
  private revision = 0;

  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
    private readonly name: string,
  ) {}

  onChange(fn: (key: string, value: T | undefined) => void): void {
    this.listeners.push(fn);
  }

  /** Resolves once the current values are loaded. */
  async start(): Promise<void> {
    let ready!: () => void;
    const initialized = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const iter = await this.kv.watch({ key: '>', initializedFn: () => ready() });
    this.watcher = iter;
    void this.follow(iter);
    await initialized;
  }

  private async follow(iter: AsyncIterable<KvEntry>): Promise<void> {
    try {
      for await (const entry of iter) {
        if (entry.revision > this.revision) this.revision = entry.revision;
        const value = decodeJson<T>(entry);
        if (value === undefined) this.values.delete(entry.key);
        else this.values.set(entry.key, value);
        for (const fn of this.listeners) {
          try {
            fn(entry.key, value);
          } catch (err) {
            this.log.error({ err, key: entry.key }, `${this.name} listener failed`);
          }
        }
      }
    } catch (err) {
      if (!this.stopped) this.log.error({ err }, `${this.name} watch failed`);
    }
    if (this.stopped) return;
    // a live copy that silently stops updating would be worse than none: resync from the last values
    this.log.warn(`${this.name} watch ended; re-opening`);
    for (;;) {
      await new Promise((r) => setTimeout(r, 1_000));
      if (this.stopped) return;
      try {
        await this.start();
        return;
      } catch (err) {
        this.log.warn({ err }, `${this.name} watch re-open failed; retrying`);
      }
    }
  }

  /**
   * Resolves once this copy has applied every write the bucket held when called (or after `timeoutMs`, with
   * false): a read right after a write made elsewhere then sees it.
   */
  async caughtUp(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    const { state } = (await this.kv.status()).streamInfo;
    while (state.messages > 0 && this.revision < state.last_seq) {
      if (this.stopped || Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  get(key: string): T | undefined {
    return this.values.get(key);
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
  }
}
