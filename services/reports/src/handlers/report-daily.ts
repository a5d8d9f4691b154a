import { ErrorCode, localDate, ValidationError } from '@vigil/shared';
import { z } from 'zod';
import type { ArtifactStore } from '../artifact-store.js';
import { defineHandler, type HandlerContext, type TargetOutcome } from '../handler-api.js';
import type { ModelChain } from '../llm/model-chain.js';

const optionsSchema = z.object({
  endpoint: z.url().optional(),
  apiKey: z.string().optional(),
  models: z.array(z.string().min(1)).min(1).optional(),
  /** `{{target}}` and `{{date}}` are replaced. */
  prompt: z.string().min(1).default('Write the daily report for {{target}} for {{date}}.'),
  system: z.string().optional(),
  retries: z.number().int().min(0).max(10).default(2),
  baseDelayMs: z.number().int().min(0).default(500),
  maxDelayMs: z.number().int().min(0).default(30_000),
  maxRetryAfterMs: z.number().int().min(0).default(60_000),
  timeoutMs: z.number().int().min(1).default(120_000),
  maxTokens: z.number().int().min(1).optional(),
  /** Targets generated at once. */
  parallel: z.number().int().min(1).max(32).default(4),
});

export type ReportDailyOptions = z.infer<typeof optionsSchema>;

export interface ReportDailyDeps {
  chain: ModelChain;
  artifacts: ArtifactStore;
  defaults: { endpoint?: string; models: string[] };
}

function settings(
  ctx: HandlerContext,
  deps: ReportDailyDeps,
): ReportDailyOptions & { endpoint: string; models: string[] } {
  const r = optionsSchema.safeParse(ctx.options);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `report.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ValidationError(issues, { code: ErrorCode.VALIDATION });
  }
  const endpoint = r.data.endpoint ?? deps.defaults.endpoint;
  const models = r.data.models ?? deps.defaults.models;
  if (!endpoint) throw new ValidationError('report.endpoint is not set (nor LLM_ENDPOINT)');
  if (models.length === 0) throw new ValidationError('report.models is empty (nor LLM_MODELS)');
  return { ...r.data, endpoint, models };
}

/** Artifact names: `<job>/<date>/<target>.md`, with path-unsafe characters replaced. */
export function artifactName(job: string, date: string, target: string): string {
  return `${job}/${date}/${target.replace(/[^A-Za-z0-9._-]/g, '_')}.md`;
}

/**
 * Seed 003's daily report: one report per target through an OpenAI-compatible endpoint with a model
 * fallback chain; each target succeeds or fails on its own (a failing one never stops the others).
 */
export function reportDailyHandler(deps: ReportDailyDeps) {
  return defineHandler({
    validate(ctx) {
      settings(ctx, deps);
      if (ctx.targets.length === 0) return 'report.daily needs targets (a list or { secret: name })';
    },
    async run(ctx) {
      const s = settings(ctx, deps);
      // the run's own day in the job's zone: a 00:30 Europe/Berlin run (or its backup after midnight) files under it
      const date = localDate(Date.parse(ctx.scheduledAt), ctx.timezone);
      const queue = [...ctx.targets];
      const outcomes: TargetOutcome[] = [];
      const one = async (target: string): Promise<TargetOutcome> => {
        const prompt = s.prompt.replaceAll('{{target}}', target).replaceAll('{{date}}', date);
        const messages = [
          ...(s.system ? [{ role: 'system' as const, content: s.system }] : []),
          { role: 'user' as const, content: prompt },
        ];
        try {
          const answer = await deps.chain.complete(s, messages, ctx.signal, ctx.log.child({ target }));
          const name = artifactName(ctx.job, date, target);
          const stored = await deps.artifacts.put(name, answer.text, `${ctx.job} ${target} ${date} (${answer.model})`);
          ctx.progress(`${target}: done with ${answer.model}`);
          return {
            target,
            ok: true,
            details: {
              model: answer.model,
              artifact: stored.name,
              bytes: stored.bytes,
              fallbackFrom: answer.skipped.map((x) => x.model),
            },
          };
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          ctx.log.warn({ target, error: (err as Error).message }, 'report failed for target');
          return { target, ok: false, error: err };
        }
      };
      const worker = async () => {
        for (let t = queue.shift(); t !== undefined; t = queue.shift()) outcomes.push(await one(t));
      };
      await Promise.all(Array.from({ length: Math.min(s.parallel, queue.length) }, worker));
      const used = new Map<string, string>();
      for (const o of outcomes) if (o.ok && o.details) used.set(o.target, String(o.details.model));
      const modelsUsed = [...new Set(used.values())];
      return {
        targets: ctx.targets.map((t) => outcomes.find((o) => o.target === t) as TargetOutcome),
        details: {
          model: modelsUsed.length === 1 ? modelsUsed[0] : modelsUsed,
          models: Object.fromEntries(used),
          artifacts: outcomes.filter((o) => o.ok).map((o) => String(o.details?.artifact)),
          date,
        },
      };
    },
  });
}
