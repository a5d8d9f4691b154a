import type { JobDefinition, Runtime } from '@vigil/shared';
import { natsHealthSources } from '../health/health-sources.js';
import { natsArtifactStore } from '../artifact-store.js';
import type { ReportsConfig } from '../config.js';
import { ModelChain } from '../llm/model-chain.js';
import { commandHandler } from './command-handler.js';
import { healthDailyHandler } from './health-daily.js';
import { httpHandler } from './http-handler.js';
import type { HandlerRegistry } from './registry.js';
import { reportDailyHandler } from './report-daily.js';

export interface BuiltinDeps {
  rt: Runtime<ReportsConfig>;
  config: ReportsConfig;
  jobs: () => JobDefinition[];
  secrets?: { get(name: string): Promise<{ stale: boolean; ageSeconds: number }> };
}

/** Registers http, command, report.daily and health.daily. */
export function registerBuiltins(
  registry: HandlerRegistry,
  { rt, config, jobs, secrets }: BuiltinDeps,
): { chain: ModelChain } {
  const chain = new ModelChain({ log: rt.log, clock: rt.clock, bus: rt.bus, registry: rt.registry });
  registry
    .register('http', httpHandler(rt))
    .register('command', commandHandler())
    .register(
      'report.daily',
      reportDailyHandler({
        chain,
        artifacts: natsArtifactStore(rt.js),
        defaults: { endpoint: config.LLM_ENDPOINT, models: config.LLM_MODELS },
      }),
    )
    .register(
      'health.daily',
      healthDailyHandler(
        natsHealthSources(rt, secrets),
        jobs,
        { startDeadlineMs: config.SCHEDULER_START_DEADLINE, timeoutMs: config.SCHEDULER_DEFAULT_TIMEOUT },
        config.ALERT_CLI,
      ),
    );
  return { chain };
}
