import type { Clock, JetStreamPublisher, JobDefinition, Logger, VigilMetrics } from '@vigil/shared';
import type { JetStreamManager, NatsConnection } from 'nats';
import type { HandlerSecrets, JobHandler } from '../handler-api.js';
import type { RunJournal } from './run-journal.js';

export interface WorkLoopDeps {
  nc: NatsConnection;
  /** Terminal and started events go through the connection's lean publisher (one PubAck subscription). */
  publisher: JetStreamPublisher;
  jsm: JetStreamManager;
  log: Logger;
  clock: Clock;
  journal: RunJournal;
  metrics?: VigilMetrics;
  secrets: HandlerSecrets;
  /** The job's current definition (the jobs file, reloaded on change), or undefined; a promise only when unknown. */
  jobs: (name: string) => JobDefinition | undefined | Promise<JobDefinition | undefined>;
  baseDir: string;
  /** The job's handler; a promise only while it has to be loaded. */
  resolveHandler: (def: JobDefinition) => JobHandler | Promise<JobHandler>;
  concurrency: number;
  ackWaitMs: number;
  /** A run older than this gets a `job.started` event (short runs publish only their terminal event). */
  startedAfterMs: number;
}
