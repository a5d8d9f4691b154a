// Public API of @vigil/notifier: start the service in-process (tests, embedding); `node dist/main.js` runs it.
export { startNotifierService, type StartNotifierOptions } from './service.js';
