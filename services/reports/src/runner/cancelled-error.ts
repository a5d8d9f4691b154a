import { ErrorCode, PermanentError } from '@vigil/shared';

/** A run stopped on purpose (`job.cancel.<job>`, e.g. concurrency `replace`): error type `cancelled`. */
export class RunCancelledError extends PermanentError {
  constructor(reason: string, details?: Record<string, unknown>) {
    super(`run cancelled: ${reason}`, { code: ErrorCode.RUN_CANCELLED, details });
    this.name = 'cancelled';
  }
}
