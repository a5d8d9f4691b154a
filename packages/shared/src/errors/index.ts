export { ErrorCode, type ErrorCodeValue } from './codes.js';
export {
  VigilError,
  ValidationError,
  TransientError,
  DeferredError,
  PermanentError,
  RetriesExhaustedError,
  type ErrorClass,
  type VigilErrorOptions,
} from './vigil-error.js';
export {
  classify,
  errorCodeOf,
  isRetryable,
  httpStatusError,
  isTransientStatus,
  parseRetryAfter,
  redisUnavailableReason,
  statusOf,
  toErrorInfo,
  type ErrorInfo,
} from './classify.js';
export { errorMessage, requestFailureReason } from './error-message.js';
