/**
 * Every stable error code Vigil emits, in one place. Codes are part of the public contract
 * (HTTP error bodies, event payloads, CLI output): add new ones, never rename old ones.
 */
export const ErrorCode = {
  CONFIG: 'VIGIL_E_CONFIG',
  VALIDATION: 'VIGIL_E_VALIDATION',
  INVALID_EVENT: 'VIGIL_E_INVALID_EVENT',
  TRANSIENT: 'VIGIL_E_TRANSIENT',
  PERMANENT: 'VIGIL_E_PERMANENT',
  /** A failure that may pass, retried as far as its policy allows: given up on here, worth a replay later. */
  RETRIES_EXHAUSTED: 'VIGIL_E_RETRIES_EXHAUSTED',
  UNEXPECTED: 'VIGIL_E_UNEXPECTED',
  TIMEOUT: 'VIGIL_E_TIMEOUT',
  BREAKER_OPEN: 'VIGIL_E_BREAKER_OPEN',
  NATS_UNAVAILABLE: 'VIGIL_E_NATS_UNAVAILABLE',
  NOT_FOUND: 'VIGIL_E_NOT_FOUND',
  UNAUTHORIZED: 'VIGIL_E_UNAUTHORIZED',
  FORBIDDEN: 'VIGIL_E_FORBIDDEN',
  API_TOKEN_UNSET: 'VIGIL_E_API_TOKEN_UNSET',
  BODY_TOO_LARGE: 'VIGIL_E_BODY_TOO_LARGE',
  CONFLICT: 'VIGIL_E_CONFLICT',
  SHUTTING_DOWN: 'VIGIL_E_SHUTTING_DOWN',
  /** An API route asked while the service still waits for NATS at start-up (only health, metrics and version answer). */
  STARTING: 'VIGIL_E_STARTING',
  JOB_NOT_FOUND: 'VIGIL_E_JOB_NOT_FOUND',
  JOBS_FILE_INVALID: 'VIGIL_E_JOBS_FILE_INVALID',
  JOB_ALREADY_RUNNING: 'VIGIL_E_JOB_ALREADY_RUNNING',
  RUN_NOT_FOUND: 'VIGIL_E_RUN_NOT_FOUND',
  RUN_CANCELLED: 'VIGIL_E_RUN_CANCELLED',
  HANDLER_UNKNOWN: 'VIGIL_E_HANDLER_UNKNOWN',
  HANDLER_FAILED: 'VIGIL_E_HANDLER_FAILED',
  HANDLER_RESULT_INVALID: 'VIGIL_E_HANDLER_RESULT_INVALID',
  TARGET_NOT_REPORTED: 'VIGIL_E_TARGET_NOT_REPORTED',
  HTTP_STATUS: 'VIGIL_E_HTTP_STATUS',
  COMMAND_FAILED: 'VIGIL_E_COMMAND_FAILED',
  MODEL_UNAVAILABLE: 'VIGIL_E_MODEL_UNAVAILABLE',
  /** Permanent: the secrets provider has no such secret. */
  SECRET_NOT_FOUND: 'VIGIL_E_SECRET_NOT_FOUND',
  /** Transient: the secrets service did not answer, or has no value it may serve, and nothing is cached. */
  SECRET_UNAVAILABLE: 'VIGIL_E_SECRET_UNAVAILABLE',
  SECRETS_PROVIDER: 'VIGIL_E_SECRETS_PROVIDER',
  WEBHOOK_URL_REFUSED: 'VIGIL_E_WEBHOOK_URL_REFUSED',
  WEBHOOK_PAYLOAD_TOO_LARGE: 'VIGIL_E_WEBHOOK_PAYLOAD_TOO_LARGE',
  WEBHOOK_NOT_FOUND: 'VIGIL_E_WEBHOOK_NOT_FOUND',
  WEBHOOK_EXPIRED: 'VIGIL_E_WEBHOOK_EXPIRED',
  /** Permanent: a webhook names no secretName and WEBHOOKS_SIGNING_SECRET is unset, so there is no key to sign it with. */
  WEBHOOK_SIGNING_KEY_MISSING: 'VIGIL_E_WEBHOOK_SIGNING_KEY_MISSING',
  /** Permanent: the secret a webhook's secretName names is not a Standard Webhooks key (whsec_…). */
  WEBHOOK_SIGNING_KEY_INVALID: 'VIGIL_E_WEBHOOK_SIGNING_KEY_INVALID',
  /** Permanent: a webhook names a secretName, but the webhooks service has no secrets client to look it up with. */
  WEBHOOK_SECRETS_UNCONFIGURED: 'VIGIL_E_WEBHOOK_SECRETS_UNCONFIGURED',
  DLQ_MESSAGE_NOT_FOUND: 'VIGIL_E_DLQ_MESSAGE_NOT_FOUND',
  SMTP_FAILED: 'VIGIL_E_SMTP_FAILED',
  NO_RECIPIENTS: 'VIGIL_E_NO_RECIPIENTS',
  ALL_CHANNELS_FAILED: 'VIGIL_E_ALL_CHANNELS_FAILED',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
