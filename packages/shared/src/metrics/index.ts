export { createRegistry, vigilMetrics, type VigilMetrics } from './vigil-metrics.js';
export { dependencyGauge } from './dependency-gauge.js';
