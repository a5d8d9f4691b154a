import { type Context, type Span, SpanKind } from '@opentelemetry/api';
import type { JsMsg } from 'nats';
import { tracer } from '../tracing/propagation.js';
import { headerRecord } from './headers.js';
import type { Logger } from 'pino';

/** What a handler gets besides the event. */
export interface ConsumeContext {
  subject: string;
  /** Stream sequence of the message. */
  seq: number;
  /** When the stream stored the message (ms since the epoch): its retention (max age) counts from here. */
  storedAt: number;
  /** 1 on the first delivery. */
  deliveryCount: number;
  headers: Record<string, string>;
  /** The message payload as stored (to store the message again unchanged). */
  body: Uint8Array;
  correlationId: string;
  /** Child logger with correlationId, runId (when the data has one), traceId. */
  log: Logger;
  /** Heartbeat: resets the ack-wait timer so a long handler keeps its message. */
  working(): void;
  /** Aborted when the consumer stops and its drain deadline passed. */
  signal: AbortSignal;
}

/** Lazy fields: most handlers never look at headers or the logger, so they cost nothing. */
export class MessageContext implements ConsumeContext {
  private _headers?: Record<string, string>;
  private _log?: Logger;

  constructor(
    private readonly msg: JsMsg,
    readonly deliveryCount: number,
    readonly correlationId: string,
    readonly signal: AbortSignal,
    private readonly baseLog: Logger,
    private readonly runId: string | undefined,
    private readonly traceId: string | undefined,
  ) {}

  get subject(): string {
    return this.msg.subject;
  }

  get seq(): number {
    return this.msg.seq;
  }

  get storedAt(): number {
    return Math.floor(this.msg.info.timestampNanos / 1e6);
  }

  get body(): Uint8Array {
    return this.msg.data;
  }

  get headers(): Record<string, string> {
    if (!this._headers) this._headers = headerRecord(this.msg.headers);
    return this._headers;
  }

  get log(): Logger {
    if (!this._log) {
      const fields: Record<string, unknown> = { correlationId: this.correlationId, subject: this.msg.subject };
      if (this.runId) fields.runId = this.runId;
      if (this.traceId) fields.traceId = this.traceId;
      this._log = this.baseLog.child(fields);
    }
    return this._log;
  }

  working(): void {
    this.msg.working();
  }
}

/** The CONSUMER span a handler runs in, child of the publisher's span carried by `traceparent`. */
export function consumerSpan(
  subject: string,
  durable: string,
  eventId: string,
  deliveries: number,
  parent: Context,
): Span {
  return tracer().startSpan(
    `process ${subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': subject,
        'messaging.consumer.group.name': durable,
        'messaging.message.id': eventId,
        'messaging.delivery_count': deliveries,
      },
    },
    parent,
  );
}
