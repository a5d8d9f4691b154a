export { loadConfig, buildCommit, EXIT_CONFIG, type LoadConfigOptions } from './config.js';
export { ConfigError, type ConfigProblem } from './config-error.js';
export { parseDuration, durationSchema } from './duration.js';
export {
  alertCliSchema,
  baseEnvSchema,
  booleanSchema,
  envListSchema,
  httpPortSchema,
  LOG_LEVELS,
  natsCredsSchema,
  natsUrlSchema,
  redisUrlSchema,
  type BaseEnv,
} from './schemas.js';
