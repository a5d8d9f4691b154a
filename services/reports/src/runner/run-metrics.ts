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
/** One job's counts since the last hand-over, by trigger then status (nested maps: no key string built per run). */
interface JobTally {
  observer: Observer;
  byTrigger: Map<string, Map<string, number>>;
  lastSuccess?: number;
}

export class RunMetrics {
  private readonly tallies = new Map<string, JobTally>();
  private publishedBySubject = new Map<string, number>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly m: VigilMetrics) {
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  published(subject: string): void {
    this.publishedBySubject.set(subject, (this.publishedBySubject.get(subject) ?? 0) + 1);
  }

  finished(job: string, trigger: string, status: string, startedAt: number, finishedAt: number): void {
    let t = this.tallies.get(job);
    if (!t) {
      t = { observer: this.m.jobDurationSeconds.labels({ job }), byTrigger: new Map() };
      this.tallies.set(job, t);
    }
    let byStatus = t.byTrigger.get(trigger);
    if (!byStatus) {
      byStatus = new Map();
      t.byTrigger.set(trigger, byStatus);
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    t.observer.observe((finishedAt - startedAt) / 1000);
    if (status === 'succeeded') t.lastSuccess = finishedAt;
  }

  /** Hands the sums to prom-client (also called on stop, so nothing counted is lost). */
  flush(): void {
    for (const [job, t] of this.tallies) {
      for (const [trigger, byStatus] of t.byTrigger) {
        for (const [status, n] of byStatus) if (n > 0) this.m.jobRunsTotal.inc({ job, trigger, status }, n);
        byStatus.clear();
      }
      if (t.lastSuccess !== undefined) this.m.jobLastSuccess.set({ job }, t.lastSuccess / 1000);
      t.lastSuccess = undefined;
    }
    const published = this.publishedBySubject;
    this.publishedBySubject = new Map();
    for (const [subject, n] of published) this.m.eventsPublishedTotal.inc({ subject }, n);
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
