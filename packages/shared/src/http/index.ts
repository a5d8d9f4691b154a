export { createHttpApp, BODY_LIMIT_BYTES, type HttpAppOptions } from './app.js';
export { hasBearer, requireBearer } from './bearer.js';
export { sendError, type ErrorBody } from './send-error.js';
export { createErrorHandler } from './error-handler.js';
export {
  createReadiness,
  type CheckFn,
  type CheckResult,
  type Readiness,
  type ReadinessPhase,
  type ReadinessReport,
  type ReadinessSource,
} from './readiness.js';
