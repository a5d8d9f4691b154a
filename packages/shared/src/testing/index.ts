// Test kit: real servers on free ports, never the machine's defaults. For tests only.
export { freePort, waitForPort } from './ports.js';
export { waitFor, type WaitForOptions } from './wait-for.js';
export { startNats, startRedis, TEST_DIR_PREFIX, type TestServer, type StartNatsOptions } from './servers.js';
export { startSmtpSink, type SmtpSink, type CapturedMail } from './smtp-sink.js';
export { startHttpReceiver, type HttpReceiver, type ReceivedRequest, type ReplyPlan } from './http-receiver.js';
export { collectEvents, type CollectedEvent, type EventCollector } from './event-collector.js';
export { stopAllTestServers } from './managed-process.js';
export { findBinary } from './binaries.js';
export { startFakeSecretsManager, type FakeSecretsManager, type FakeSecretsMode } from './fake-secrets-manager.js';
export { installInMemoryTracing, type InMemoryTracing } from '../tracing/in-memory.js';
export {
  startFakeLlm,
  type FakeLlm,
  type FakeLlmPlan,
  type FakeLlmStep,
  type FakeLlmRequest,
  type FakeLlmOptions,
} from './fake-llm.js';
export { apiClient, type ApiCall, type ApiResponse } from './api-client.js';
export { BUILD_LOCK, buildPackages, runUnderBuildLock } from './build-lock.js';
export { startInstanceWithBreaker, type InstanceWithBreaker } from './instance-with-breaker.js';
