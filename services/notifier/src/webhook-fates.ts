import type { Alert } from './alert.js';
import { keepNewest } from './keep-newest.js';
import { formatTime, itemName } from './render-email.js';

/** How many given-up webhook ids (and their later deliveries) a replica remembers; the oldest go first. */
export const MAX_WEBHOOK_FATES = 10_000;

/**
 * Which given-up webhooks were delivered after all (a `vigil dlq replay` of their dead letter): learned from the
 * `webhook.dead` and `webhook.delivered` events every replica already follows on core NATS (webhook-outcomes.ts), in
 * memory and bounded. Only the ids seen dead are looked up in a delivery, so most deliveries cost one JSON parse. Best
 * effort: a replica started after the delivery does not know it (the follow-up then lists the webhook as it died).
 */
export class WebhookFates {
  private readonly dead = new Set<string>();
  private readonly delivered = new Map<string, number>();

  /** Whether any given-up webhook is being followed (a delivery is worth parsing only then). */
  get watching(): boolean {
    return this.dead.size > 0;
  }

  noteDead(id: string): void {
    this.dead.delete(id);
    this.dead.add(id);
    this.delivered.delete(id);
    keepNewest(this.dead, MAX_WEBHOOK_FATES);
  }

  noteDelivered(id: string, at: number): void {
    if (!this.dead.has(id)) return;
    this.delivered.set(id, at);
    keepNewest(this.delivered, MAX_WEBHOOK_FATES);
  }

  /** When a webhook given up was delivered after all (ms), if this replica saw it. */
  deliveredAt(id: string): number | undefined {
    return this.delivered.get(id);
  }
}

/**
 * A dead-webhook follow-up, as of now: the folded webhooks delivered since (replayed) are marked so, never listed as
 * "failing; replay once it is back". `drop`: every webhook it is about was delivered since (nothing left to do).
 */
export function withDeliveries(
  alert: Alert,
  items: string[] | undefined,
  count: number,
  deliveredAt: (id: string) => number | undefined,
): { alert: Alert; items?: string[]; drop: boolean } {
  if (alert.kind !== 'webhook-dead' || alert.lostFallback) return { alert, items, drop: false };
  let marked = 0;
  const out = items?.map((item) => {
    const at = deliveredAt(itemName(item));
    if (at === undefined) return item;
    marked++;
    return `${itemName(item)} — delivered at ${formatTime(at)} (replayed after it was given up)`;
  });
  const latestId = alert.facts.find(([k]) => k === 'Webhook id')?.[1];
  const latestAt = latestId !== undefined ? deliveredAt(latestId) : undefined;
  // the items are bounded (MAX_PENDING_ITEMS): only a fully listed follow-up can be known to be all delivered
  const allDelivered = out !== undefined && out.length >= count && marked === out.length && latestAt !== undefined;
  if (latestAt === undefined) return { alert, items: out, drop: allDelivered };
  const facts: Array<[string, string]> = [
    ...alert.facts,
    ['Delivered since', `${formatTime(latestAt)} (replayed after it was given up: nothing left to replay for it)`],
  ];
  return { alert: { ...alert, facts }, items: out, drop: allDelivered };
}
