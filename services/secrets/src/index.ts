// Public API of @vigil/secrets: start the service in-process (tests, embedding); `node dist/main.js` runs it.
export { startSecretsService, type StartSecretsServiceOptions } from './service.js';
