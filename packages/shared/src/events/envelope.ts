import { fastUlid as ulid } from './ulid.js';
import { z } from 'zod';

/** CloudEvents 1.0 JSON envelope; `data` is validated separately by the subject's schema. */
export const CloudEventSchema = z.looseObject({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  time: z.string().min(1),
  subject: z.string().min(1),
  datacontenttype: z.literal('application/json'),
  data: z.unknown(),
});

export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject: string;
  datacontenttype: 'application/json';
  data: T;
}

/** A new event id: a ULID (sortable by creation time). */
export function newEventId(): string {
  return ulid();
}

/**
 * The CloudEvents `type` of a subject: `vigil.` plus the subject without its instance tokens
 * (job name, breaker service/name): the family and the verb, i.e. the first two tokens.
 */
export function eventTypeFor(subject: string): string {
  const first = subject.indexOf('.');
  if (first < 0) return `vigil.${subject}`;
  const second = subject.indexOf('.', first + 1);
  return `vigil.${second < 0 ? subject : subject.slice(0, second)}`;
}

export interface EnvelopeOptions {
  id?: string;
  /** A Date, or an ISO-8601 string already formatted (default: now). */
  time?: Date | string;
}

export function makeEnvelope<T>(service: string, subject: string, data: T, opts: EnvelopeOptions = {}): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: opts.id ?? ulid(),
    source: `vigil/${service}`,
    type: eventTypeFor(subject),
    time: typeof opts.time === 'string' ? opts.time : (opts.time ?? new Date()).toISOString(),
    subject,
    datacontenttype: 'application/json',
    data,
  };
}

/**
 * Envelope check on the consume hot path: the same rules as CloudEventSchema without zod's
 * allocation; returns the reason it is invalid, or undefined when it is fine.
 */
export function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const e = value as Record<string, unknown>;
  // Plain JSON (the payload alone, without the envelope) is the usual mistake of a first publisher: say so, and
  // where the payload goes, rather than only that one field is missing.
  if (!('specversion' in e)) {
    return 'not a CloudEvent (no specversion): a Vigil event is a CloudEvents 1.0 envelope { specversion: "1.0", id, source, type, time, subject, data } with the payload in data (the CLI, or makeEnvelope in @vigil/shared, builds it)';
  }
  if (e.specversion !== '1.0') return 'specversion must be "1.0"';
  for (const key of ['id', 'source', 'type', 'time', 'subject'] as const) {
    if (typeof e[key] !== 'string' || (e[key] as string).length === 0) return `${key} must be a non-empty string`;
  }
  if (e.datacontenttype !== undefined && e.datacontenttype !== 'application/json') {
    return 'datacontenttype must be application/json';
  }
  if (!('data' in e)) return 'data is missing';
  return undefined;
}
