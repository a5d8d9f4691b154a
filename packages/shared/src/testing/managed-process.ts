import { type ChildProcess, spawn } from 'node:child_process';
import { waitForPort } from './ports.js';

const live = new Set<ManagedProcess>();

/** Kills every server the kit started in this process; called after each test file and on exit. */
export async function stopAllTestServers(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill()));
}

process.once('exit', () => {
  for (const p of live) p.killSync();
});

export interface ManagedProcessSpec {
  name: string;
  command: string;
  args: string[];
  port: number;
  env?: NodeJS.ProcessEnv;
}

/** A real server process that a test may stop, kill -9 and restart on the same port and data dir. */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  constructor(private readonly spec: ManagedProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** The last lines the server printed: put them in an assertion message when a start fails. */
  get log(): string {
    return this.output.slice(-4000);
  }

  async start(timeoutMs = 10_000): Promise<void> {
    if (this.child) return;
    const child = spawn(this.spec.command, this.spec.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.spec.env },
    });
    this.child = child;
    live.add(this);
    const keep = (b: Buffer) => {
      this.output = (this.output + b.toString()).slice(-16_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        live.delete(this);
        resolve();
      });
    });
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) =>
        reject(new Error(`${this.spec.name}: cannot start ${this.spec.command}: ${err.message}`)),
      );
      void this.exited.then(() => reject(new Error(`${this.spec.name} exited during start-up:\n${this.log}`)));
    });
    failed.catch(() => {});
    await Promise.race([waitForPort(this.spec.port, '127.0.0.1', timeoutMs), failed]);
  }

  private async signal(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Graceful stop (SIGTERM, SIGKILL after 5 s). */
  stop(): Promise<void> {
    return this.signal('SIGTERM', 5_000);
  }

  /** kill -9: no chance to flush or say goodbye. */
  kill(): Promise<void> {
    return this.signal('SIGKILL', 0);
  }

  killSync(): void {
    this.child?.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}
