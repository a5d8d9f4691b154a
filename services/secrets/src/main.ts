import { startSecretsService } from './service.js';

await startSecretsService({ handleSignals: true });
