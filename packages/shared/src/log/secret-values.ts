/** Values shorter than this are not scrubbed: replacing "a" or "42" everywhere would wreck every line. */
export const MIN_SECRET_LENGTH = 4;
export const REDACTED = '[REDACTED]';

// Process-wide: a value learned by the secrets client must vanish from every logger's output.
const values = new Map<string, string[]>();

/** Every later log line (of any logger) has this value replaced by [REDACTED], even inside error stacks. */
export function registerSecretValue(value: string | undefined | null): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || values.has(value)) return;
  // The line is JSON, so the value may appear escaped; URL-encoded copies turn up in logged URLs.
  const forms = new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]);
  values.set(
    value,
    [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH),
  );
}

/** For tests and secret rotation: forget a value. */
export function unregisterSecretValue(value: string): void {
  values.delete(value);
}

/** scheme://user:password@ and scheme://:password@ (Redis URLs carry a password with no user). */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@"]*:)[^\s@/"]+@/gi;

/**
 * Replaces registered secret values and passwords in URLs (nats://u:p@host) in a text: a serialized log line,
 * an error's message or stack (toErrorInfo), a dead letter's error header.
 */
export function scrubSecrets(line: string): string {
  let out = line;
  if (values.size > 0) {
    for (const forms of values.values()) {
      for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
    }
  }
  if (out.includes('://')) out = out.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
  return out;
}
