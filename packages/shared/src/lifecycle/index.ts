export { runService } from './run-service.js';
export {
  type HealthAnswer,
  type InstanceBreaker,
  registerNatsService,
  type ServiceReadiness,
  serviceReadiness,
  VIGIL_SERVICES,
} from './health-endpoint.js';
export { withTimeout } from './with-timeout.js';
export type { Runtime, RunServiceOptions, ServiceConfig, ServiceHandle } from './types.js';
export { packageVersion } from './package-version.js';
