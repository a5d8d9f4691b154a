export { createRegistry, vigilMetrics, type VigilMetrics } from './vigil-metrics.js';
