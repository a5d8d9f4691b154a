import type { MsgHdrs } from 'nats';

/** Header names Vigil sets on NATS messages (contract §4). */
export const Header = {
  MSG_ID: 'Nats-Msg-Id',
  TRACEPARENT: 'traceparent',
  TRACESTATE: 'tracestate',
  CORRELATION_ID: 'Vigil-Correlation-Id',
  ERROR: 'Vigil-Error',
  ERROR_CLASS: 'Vigil-Error-Class',
  ERROR_CODE: 'Vigil-Error-Code',
  DELIVERIES: 'Vigil-Deliveries',
  ORIGINAL_SUBJECT: 'Vigil-Original-Subject',
  ORIGINAL_STREAM: 'Vigil-Original-Stream',
  ORIGINAL_SEQ: 'Vigil-Original-Seq',
  ORIGINAL_MSG_ID: 'Vigil-Original-Msg-Id',
  CONSUMER: 'Vigil-Consumer',
  REPLAY_OF: 'Vigil-Replay-Of',
  /** On a message stored again as itself (a parked webhook released): when the stream first stored it, in ms. */
  STORED_AT: 'Vigil-Stored-At',
  /** On a dead letter stored without its payload (too large to copy): the payload's size and why. */
  PAYLOAD_DROPPED: 'Vigil-Payload-Dropped',
} as const;

/**
 * Header values are single lines of text: control characters (CR and LF would end the header and make nats.js
 * throw) become a space, and the length is bounded. For every header or service-error description built from input.
 */
export function headerValue(text: string, max = 1024): string {
  const flat = /\p{Cc}/u.test(text) ? text.replace(/\p{Cc}+/gu, ' ') : text;
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A message's headers as plain pairs (a repeated header's values joined with `,`); empty without headers. */
export function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h) for (const [k, v] of h) out[k] = v.join(',');
  return out;
}
