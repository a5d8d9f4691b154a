import type { EventBus } from '@vigil/shared';
import type { SlackMessage } from './slack-message.js';

/**
 * The fallback channel: a Slack-compatible message handed to the webhooks service as `webhook.send`, which
 * delivers it durably (retries, signing, SSRF guard). `id` makes a redelivered alert one delivery.
 * `format: 'raw'`: a Slack incoming webhook wants `{ text, blocks }` as the body, not a Standard Webhooks envelope.
 */
export async function sendToWebhook(bus: EventBus, url: string, id: string, message: SlackMessage): Promise<void> {
  await bus.publish(
    'webhook.send',
    { id, url, eventType: 'vigil.alert', format: 'raw', payload: message },
    { msgId: id },
  );
}
