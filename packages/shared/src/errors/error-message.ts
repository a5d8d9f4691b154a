/** What a thrown value says: an Error's message, anything else as a string (unscrubbed: see toErrorInfo). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Why a request failed at the network level, in words an alert can use. fetch rejects with `TypeError: fetch failed`
 * and keeps the reason in `cause` (ECONNREFUSED, DNS, TLS, "other side closed"); a dual-stack connect refused on
 * every address has an AggregateError there, with no message of its own. Anything else keeps its own message.
 */
export function requestFailureReason(err: unknown): string {
  const own = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: unknown } | undefined)?.cause as
    | { code?: unknown; message?: unknown; errors?: { message?: unknown }[] }
    | undefined;
  if (!cause || typeof cause !== 'object') return own;
  const code = typeof cause.code === 'string' ? cause.code : undefined;
  const first = Array.isArray(cause.errors) ? cause.errors[0]?.message : undefined;
  const message =
    typeof cause.message === 'string' && cause.message !== ''
      ? cause.message
      : typeof first === 'string' && first !== ''
        ? first
        : undefined;
  if (!message) return code ?? own;
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
