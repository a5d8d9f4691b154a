/** What a thrown value says: an Error's message, anything else as a string (unscrubbed: see toErrorInfo). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
