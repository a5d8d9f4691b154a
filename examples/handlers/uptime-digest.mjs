// A sample `module:` handler: the way to add your own job to Vigil.
//
// jobs.yaml:
//   uptime-digest:
//     schedule: "0 7 * * *"
//     handler: module:./handlers/uptime-digest.mjs     # relative to the jobs file
//     targets: [https://example.com, https://example.org]
//     module: { timeoutMs: 5000, token: "${secret:status-token}" }   # ${secret:…} resolved at run time
//
// The default export is `defineHandler({ validate?, run })` from @vigil/reports (a plain object with the
// same shape works too, as here, so this file needs no dependency). Handlers never see NATS: they get a
// context and return per-target outcomes; the runner turns them into job.succeeded / job.partial /
// job.failed, retries thrown retryable errors per the job's `retries`, and never runs a run id twice.

/** @type {import('@vigil/reports').JobHandler<{ timeoutMs?: number, token?: string }>} */
export default {
  // Runs before any side effect: return a message (or throw) to fail fast with class `validation`.
  validate(ctx) {
    if (ctx.targets.length === 0) return 'uptime-digest needs targets (URLs)';
    for (const t of ctx.targets) if (!/^https?:\/\//.test(t)) return `target ${t} is not an http(s) URL`;
  },

  // One outcome per target: one target failing never hides the others' results.
  async run(ctx) {
    const timeoutMs = ctx.options.timeoutMs ?? 5000;
    const targets = [];
    for (const url of ctx.targets) {
      const started = ctx.clock.now();
      try {
        const res = await fetch(url, {
          method: 'HEAD',
          headers: ctx.options.token ? { authorization: `Bearer ${ctx.options.token}` } : {},
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]), // cancellation + timeout
        });
        const ms = ctx.clock.now() - started;
        targets.push({
          target: url,
          ok: res.ok,
          error: res.ok ? undefined : new Error(`HTTP ${res.status}`),
          details: { status: res.status, ms },
        });
      } catch (err) {
        targets.push({ target: url, ok: false, error: err });
      }
      ctx.progress(`${url} checked`); // heartbeat: long runs are not redelivered while they progress
    }
    ctx.log.info({ up: targets.filter((t) => t.ok).length, total: targets.length }, 'uptime digest done');
    return { targets, details: { checkedAt: new Date(ctx.clock.now()).toISOString() } };
  },
};
