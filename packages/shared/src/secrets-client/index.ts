export { createSecretsClient } from './client.js';
export type { SecretGetOptions, SecretStatus, SecretsClient, SecretsClientOptions, SecretValue } from './types.js';
export { MAX_STALE_REFUSAL, SECRET_NAME_PATTERN, SECRET_NAME_RULE } from './types.js';
export { envVariableFor, SECRET_NOT_FOUND_TYPE } from './secret-providers.js';
export { selectField, splitRef, templateRefs } from './template.js';
