import type { MsgHdrs } from 'nats';

/** nats.js headers, as opposed to plain name → value pairs (HTTP headers, tests, the lean publisher). */
export function isMsgHdrs(value: unknown): value is MsgHdrs {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as MsgHdrs).get === 'function' &&
    typeof (value as MsgHdrs).set === 'function'
  );
}
