import { startSchedulerService } from './service.js';

await startSchedulerService();
