import type { EventBus } from '@vigil/shared';
import type { SlackMessage } from './slack-message.js';

/**
 * The fallback channel: a Slack-compatible message handed to the webhooks service as `webhook.send`, which
 * delivers it durably (retries, signing, SSRF guard). `id` makes a redelivered alert one delivery.
 */
export async function sendToWebhook(bus: EventBus, url: string, id: string, message: SlackMessage): Promise<void> {
  await bus.publish('webhook.send', { id, url, eventType: 'vigil.alert', payload: message }, { msgId: id });
}
