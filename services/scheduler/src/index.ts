// Public API of @vigil/scheduler: start the service in-process (tests, embedding); `node dist/main.js` runs it.
export { startSchedulerService, type StartSchedulerOptions } from './service.js';
