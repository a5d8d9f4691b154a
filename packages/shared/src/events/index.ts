export {
  CloudEventSchema,
  type CloudEvent,
  eventTypeFor,
  makeEnvelope,
  newEventId,
  envelopeProblem,
} from './envelope.js';
export { ErrorInfoSchema, type EventErrorInfo, isoTime } from './common.js';
export * from './jobs.js';
export * from './secrets.js';
export * from './webhooks.js';
export * from './notify.js';
export * from './ops.js';
export { schemaForSubject, registerEventSchema } from './schemas.js';
export { Subjects, isSubjectToken } from './subjects.js';
export { subjectMatches } from './subject-match.js';
export { Header, headerRecord, headerValue } from './headers.js';
export {
  STREAMS,
  DLQ_STREAM,
  type StreamSpec,
  type EnsureStreamsOptions,
  ensureStreams,
  streamForSubject,
} from './streams.js';
export { currentCorrelationId, currentEventScope, runWithCorrelation, type EventScope } from './context.js';
export { type PublishOptions, publishEvent, validateData } from './publish.js';
export { type ConsumeOptions, type ConsumerHandle, type EventHandler, retryDelay } from './consume.js';
export type { ConsumeContext } from './consume-context.js';
export { ensureDurable, type DurableSpec } from './consumer-config.js';
export {
  deadLetter,
  type DeadLetterOptions,
  listDlq,
  type ListDlqOptions,
  getDlqEntry,
  replayDlq,
  removeDlqEntry,
  dlqDepth,
  type DlqEntry,
  type DlqReplay,
} from './dlq.js';
export {
  decodeKvJson,
  encodeKvJson,
  isWrongRevision,
  type KvJsonDecision,
  KvTimeoutError,
  openKv,
  type OpenKvOptions,
  updateKvJson,
  type UpdateKvJsonOptions,
} from './kv.js';
export { setStorageReplicas, storageReplicas } from './storage-replicas.js';
export { EventBus, type EventBusOptions } from './bus.js';
export { publishDurable, type DurablePublishOptions } from './durable-publish.js';
export {
  JetStreamPublishError,
  type JetStreamPublishOptions,
  JetStreamPublisher,
  jetStreamPublisher,
} from './jetstream-publisher.js';
export { type PulledMessage, PullConsumer, type PullConsumerOptions } from './pull-consumer.js';
