import { Header, type JobRun, type Logger, type PulledMessage } from '@vigil/shared';
import { RunAbort } from './run-abort.js';
import type { TraceContext } from './run-events-out.js';

/**
 * One run held by this replica, from delivery to ack. Its logger is created only when something logs (short,
 * quiet runs never do), and it is what the handler's context reports progress and cancellation through.
 */
export class RunSlot {
  readonly abort = new RunAbort();
  /** When the handler started (set as it takes its slot). */
  startedAt = 0;
  /** With tracing on: the run's span context (its job.started is published later, from a timer). */
  traceContext?: TraceContext;
  private runLog?: Logger;

  constructor(
    /** The newest delivery of the request (a redelivery to this replica replaces it, for the ack). */
    public msg: PulledMessage,
    readonly req: JobRun,
    readonly seq: number,
    private readonly baseLog: Logger,
  ) {}

  get runId(): string {
    return this.req.runId;
  }

  get job(): string {
    return this.req.job;
  }

  /** The request's correlation id, else the run id (what the run's own events carry too). */
  correlationId(): string {
    return this.msg.header(Header.CORRELATION_ID) || this.req.runId;
  }

  /** Made on first use: with the request's correlation id and, when it came with a traceparent, its trace id. */
  log(): Logger {
    if (!this.runLog) {
      const fields: Record<string, unknown> = {
        runId: this.req.runId,
        job: this.req.job,
        correlationId: this.correlationId(),
      };
      const traceId = this.msg.header(Header.TRACEPARENT)?.split('-')[1];
      if (traceId) fields.traceId = traceId;
      this.runLog = this.baseLog.child(fields);
    }
    return this.runLog;
  }

  /** A handler's progress note: a heartbeat for the stream and a log line. */
  progress(note: string): void {
    this.msg.working();
    this.log().info({ progress: note }, 'progress');
  }
}
