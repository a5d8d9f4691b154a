export { backoffDelay, type BackoffOptions } from './backoff.js';
export { retry, type RetryOptions } from './retry.js';
export { breakerRefusal } from './breaker-refusal.js';
export {
  createBreaker,
  type Breaker,
  type BreakerOptions,
  type UnprovenBreakerStatus,
  type EventPublisher,
} from './breaker.js';
