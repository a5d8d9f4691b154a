// The public API of @vigil/shared: see README.md. One line per folder; each folder's index.ts owns its exports.
export * from './errors/index.js';
export * from './config/index.js';
export * from './log/index.js';
export * from './resilience/index.js';
export * from './metrics/index.js';
export * from './time/index.js';
export * from './tracing/index.js';
export * from './nats/index.js';
export * from './events/index.js';
export * from './http/index.js';
export * from './lifecycle/index.js';
export * from './secrets-client/index.js';
export * from './jobs/index.js';
