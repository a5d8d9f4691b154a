import type { VigilMetrics } from '@vigil/shared';

type Child = { inc(): void } | { observe(v: number): void } | { set(v: number): void };

/**
 * The runner's per-run metric updates through cached label children: prom-client hashes the label object on
 * every `inc({...})`, which is measurable when it happens several times per short run.
 */
export class RunMetrics {
  private readonly children = new Map<string, Child>();

  constructor(private readonly m: VigilMetrics) {}

  private child<T extends Child>(key: string, make: () => T): T {
    let c = this.children.get(key) as T | undefined;
    if (!c) {
      c = make();
      this.children.set(key, c);
    }
    return c;
  }

  published(subject: string): void {
    this.child(`p\0${subject}`, () => this.m.eventsPublishedTotal.labels({ subject })).inc();
  }

  finished(job: string, trigger: string, status: string, startedAt: number, finishedAt: number): void {
    this.child(`r\0${job}\0${trigger}\0${status}`, () => this.m.jobRunsTotal.labels({ job, trigger, status })).inc();
    this.child(`d\0${job}`, () => this.m.jobDurationSeconds.labels({ job })).observe((finishedAt - startedAt) / 1000);
    if (status === 'succeeded') {
      this.child(`s\0${job}`, () => this.m.jobLastSuccess.labels({ job })).set(finishedAt / 1000);
    }
  }
}
