import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino from 'pino';
import { mayNeedRedaction, redactDeep } from './redact-keys.js';
import { scrubSecrets } from './secret-values.js';

export type Logger = pino.Logger;

export interface CreateLoggerOptions {
  service: string;
  version?: string;
  level?: string;
  /** Where lines go (default stdout). Tests pass a stream to read the lines back. */
  destination?: pino.DestinationStream;
  /** Extra base fields. */
  base?: Record<string, unknown>;
}

function redactObject(obj: Record<string, unknown>): Record<string, unknown> {
  return mayNeedRedaction(obj) ? (redactDeep(obj) as Record<string, unknown>) : obj;
}

/** The active span's ids, so a log line can be found from its trace and back. */
function traceMixin(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const ctx = span.spanContext();
  return isSpanContextValid(ctx) ? { traceId: ctx.traceId, spanId: ctx.spanId } : {};
}

/**
 * JSON logger with `service` and `version` on every line, trace ids from the active span, secret-looking
 * keys redacted at any depth and registered secret values scrubbed from the whole serialized line
 * (messages and stacks included).
 */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    base: { service: opts.service, ...(opts.version ? { version: opts.version } : {}), ...opts.base },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceMixin,
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => redactObject(bindings),
      log: (obj) => redactObject(obj),
    },
    hooks: { streamWrite: scrubSecrets },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
