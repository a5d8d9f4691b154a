export { createLogger, type Logger, type CreateLoggerOptions } from './logger.js';
export { registerSecretValue, unregisterSecretValue, scrubSecrets, REDACTED } from './secret-values.js';
export { isSecretKey, redactDeep } from './redact-keys.js';
