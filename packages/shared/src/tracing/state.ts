/**
 * Whether an OTel SDK is installed by us (initTracing or the in-memory test exporter). When it is not,
 * publish/consume skip span work entirely, so tracing off costs nothing on the hot path.
 */
let enabled = false;

export function isTracingEnabled(): boolean {
  return enabled;
}

export function setTracingEnabled(on: boolean): void {
  enabled = on;
}
