export { createSecretsClient } from './client.js';
export type { SecretStatus, SecretsClient, SecretsClientOptions, SecretValue } from './types.js';
export { selectField, splitRef, templateRefs } from './template.js';
