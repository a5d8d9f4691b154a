// Public API of @vigil/webhooks: start the service in-process (tests, embedding); `node dist/main.js` runs it.
export { startWebhooksService, type StartWebhooksOptions } from './service.js';
