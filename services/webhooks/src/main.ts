import { startWebhooksService } from './service.js';

await startWebhooksService();
