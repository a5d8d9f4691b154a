import { ErrorCode, ValidationError } from '../errors/index.js';

export interface ConfigProblem {
  variable: string;
  reason: string;
}

/** The environment is missing or has malformed variables; `problems` names every one of them. */
export class ConfigError extends ValidationError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    const list = problems.map((p) => `${p.variable} ${p.reason}`).join('; ');
    super(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${list}`, {
      code: ErrorCode.CONFIG,
      details: { problems },
    });
    this.problems = problems;
  }
}
