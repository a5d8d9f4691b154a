import type { Logger } from '@vigil/shared';

export interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

/** A logger that keeps what it was told (every child logs into the same list). */
export function capturingLogger(lines: LogLine[]): Logger {
  const at =
    (level: string) =>
    (fields: unknown, msg?: string): void => {
      if (typeof fields === 'string') lines.push({ level, fields: {}, msg: fields });
      else lines.push({ level, fields: (fields ?? {}) as Record<string, unknown>, msg: msg ?? '' });
    };
  const log = {
    child: () => log,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
  };
  return log as unknown as Logger;
}
