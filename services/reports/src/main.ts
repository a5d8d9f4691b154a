import { startReportsService } from './service.js';

await startReportsService({ handleSignals: true });
