import { startNotifierService } from './service.js';

await startNotifierService();
