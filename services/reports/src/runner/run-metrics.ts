import type { VigilMetrics } from '@vigil/shared';

type Observer = { observe(v: number): void };

/** Counts added to prom-client at most once a second. */
const FLUSH_MS = 1_000;

/**
 * The runner's per-run metric updates. prom-client hashes the label set on every `inc`/`set` (children too),
 * which is measurable when it happens several times per short run: counters and the last-success gauge are
 * summed here and handed over once a second (a scrape sees them at most 1 s late); durations go to the
 * histogram as they come, through cached children.
 */
export class RunMetrics {
  private readonly observers = new Map<string, Observer>();
  private runs = new Map<string, { job: string; trigger: string; status: string; n: number }>();
  private publishedBySubject = new Map<string, number>();
  private lastSuccess = new Map<string, number>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly m: VigilMetrics) {
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  published(subject: string): void {
    this.publishedBySubject.set(subject, (this.publishedBySubject.get(subject) ?? 0) + 1);
  }

  finished(job: string, trigger: string, status: string, startedAt: number, finishedAt: number): void {
    const key = `${job}\0${trigger}\0${status}`;
    const r = this.runs.get(key);
    if (r) r.n++;
    else this.runs.set(key, { job, trigger, status, n: 1 });
    let o = this.observers.get(job);
    if (!o) {
      o = this.m.jobDurationSeconds.labels({ job });
      this.observers.set(job, o);
    }
    o.observe((finishedAt - startedAt) / 1000);
    if (status === 'succeeded') this.lastSuccess.set(job, finishedAt);
  }

  /** Hands the sums to prom-client (also called on stop, so nothing counted is lost). */
  flush(): void {
    const { runs, publishedBySubject, lastSuccess } = this;
    this.runs = new Map();
    this.publishedBySubject = new Map();
    this.lastSuccess = new Map();
    for (const r of runs.values()) this.m.jobRunsTotal.inc({ job: r.job, trigger: r.trigger, status: r.status }, r.n);
    for (const [subject, n] of publishedBySubject) this.m.eventsPublishedTotal.inc({ subject }, n);
    for (const [job, at] of lastSuccess) this.m.jobLastSuccess.set({ job }, at / 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
