import { type HttpReceiver, startHttpReceiver } from '@vigil/shared/testing';

export interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  kind?: number;
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  url: string;
  spans(): ReceivedSpan[];
  close(): Promise<void>;
}

interface OtlpJson {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans?: Array<{
      spans?: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string; kind?: number }>;
    }>;
  }>;
}

/** A local OTLP/HTTP (JSON) endpoint that keeps every span the services export, like a tiny Jaeger. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const receiver: HttpReceiver = await startHttpReceiver(() => ({ status: 200, body: {} }));
  const spans = (): ReceivedSpan[] => {
    const out: ReceivedSpan[] = [];
    for (const req of receiver.requests) {
      if (!req.url.startsWith('/v1/traces')) continue;
      let body: OtlpJson;
      try {
        body = JSON.parse(req.body) as OtlpJson;
      } catch {
        continue;
      }
      for (const rs of body.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? 'unknown';
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            out.push({
              service,
              name: s.name,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId,
              kind: s.kind,
            });
          }
        }
      }
    }
    return out;
  };
  return { url: receiver.url, spans, close: () => receiver.close() };
}
