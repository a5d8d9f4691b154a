// Public API of @vigil/reports for handler authors and tests.
export {
  defineHandler,
  type JobHandler,
  type HandlerContext,
  type HandlerErrors,
  type HandlerResult,
  type TargetOutcome,
  type HandlerSecrets,
} from './handler-api.js';
export { startReportsService, type ReportsServiceOptions } from './service.js';
