import type { JobDefinition } from '@vigil/shared';
import { defineHandler } from '../handler-api.js';
import { analyseHealth, type HealthInput, type HealthReport } from '../health/health-analysis.js';
import { type HealthSources, secretNamesOf } from '../health/health-sources.js';
import { formatHealth, healthTitle, recommend } from '../health/recommendations.js';
import { parseTargetList } from '../runner/targets.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The run counts behind `successRate` (= runsSucceeded / runsCounted): runs in progress (requested or started, within
 * their deadlines) are not counted; stuck and missed ones are, as not succeeded.
 */
function runCounts(report: HealthReport) {
  return {
    runsCounted: report.totals.counted,
    runsSucceeded: report.totals.succeeded,
    runsInProgress: report.totals.running,
  };
}

/**
 * `health.daily` (seed 003): the last 24 h of runs -> coverage per job and target, success rate, mean
 * time to recover, open breakers, DLQ depth, secrets staleness, services not ready (and the dependency checks
 * that fail), with concrete recommendations, sent as
 * `notify.send` (INFO, or WARNING / CRITICAL when coverage < 100%, success < 95%, a service is down…; the title
 * names what raised the severity when the coverage and success figures do not).
 */
export function healthDailyHandler(
  sources: HealthSources,
  jobs: () => JobDefinition[],
  /** The scheduler's defaults for jobs that set no deadline (its variables, read by this service too). */
  deadlines?: HealthInput['deadlines'],
  /** How the report's commands call the CLI (ALERT_CLI). */
  cli = 'vigil',
) {
  return defineHandler({
    async run(ctx) {
      // The report is about the other jobs: this run is still going, so its own job would always look uncovered.
      const defs = jobs().filter((d) => d.name !== ctx.job);
      const targetsOf: Record<string, string[]> = {};
      for (const d of defs) {
        if (d.targets && !Array.isArray(d.targets)) {
          try {
            // target names, not secret material: kept readable in logs, as the runner reads them (targets.ts)
            targetsOf[d.name] = parseTargetList(await ctx.secrets.get(d.targets.secret, { redact: false }));
          } catch (err) {
            ctx.log.warn({ job: d.name, error: (err as Error).message }, 'targets secret unavailable for coverage');
          }
        }
      }
      const [allRuns, dlqDepth, secrets, { components, openBreakers }] = await Promise.all([
        sources.runs(),
        sources.dlqDepth().catch((err: unknown) => {
          ctx.log.warn({ error: (err as Error).message }, 'DLQ depth unavailable for the health report');
          return undefined;
        }),
        sources.secretHealth(secretNamesOf(defs)),
        sources.services(),
      ]);
      // …nor its runs: the one in progress (recorded as requested/started) would make the job look uncovered.
      const runs = allRuns.filter((r) => r.job !== ctx.job);
      const now = ctx.clock.now();
      const windowMs = typeof ctx.options.windowMs === 'number' ? ctx.options.windowMs : DAY_MS;
      const report = analyseHealth({
        now,
        windowMs,
        runs,
        jobs: defs,
        targetsOf,
        openBreakers,
        dlqDepth,
        secrets,
        components,
        deadlines,
      });
      const { severity, recommendations, reasons } = recommend(report, cli);
      const date = new Date(now).toISOString().slice(0, 10);
      const recipients = Array.isArray(ctx.options.recipients) ? (ctx.options.recipients as string[]) : undefined;
      await sources.notify(
        {
          severity,
          // the notifier's subject starts with the severity: `🚨 CRITICAL: Vigil daily health … — secrets not running …`
          title: healthTitle(date, report, reasons),
          body: formatHealth(report, recommendations),
          ...(recipients ? { recipients } : {}),
          dedupeKey: `health.daily.${ctx.job}.${date}`,
          details: {
            coverage: report.coverage,
            successRate: report.successRate,
            mttrMinutes: report.mttrMinutes,
            dlqDepth: report.dlqDepth,
            ...runCounts(report),
          },
        },
        // one report per run: a second run the same day (a manual trigger) is published, not dropped as a duplicate
        { correlationId: ctx.correlationId, msgId: `health.daily.${ctx.job}.${date}.${ctx.runId}` },
      );
      return {
        details: {
          severity,
          coverage: report.coverage,
          successRate: report.successRate,
          mttrMinutes: report.mttrMinutes,
          openBreakers: report.openBreakers.length,
          dlqDepth: report.dlqDepth,
          ...runCounts(report),
          reasons: reasons.map((r) => `${r.severity}: ${r.text}`),
          recommendations,
        },
      };
    },
  });
}
