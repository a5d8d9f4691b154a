/**
 * Drops the oldest entries of `c` (Maps and Sets keep insertion order) until it holds at most `max`: the notifier's
 * in-memory lists (alerts waiting for SMTP, Slack messages followed, webhook fates) stay bounded whatever happens.
 */
export function keepNewest<K>(
  c: { readonly size: number; keys(): IterableIterator<K>; delete(key: K): boolean },
  max: number,
): void {
  for (const key of c.keys()) {
    if (c.size <= max) return;
    c.delete(key);
  }
}
