import { afterAll } from 'vitest';
import { stopAllTestServers } from '@vigil/shared/testing';

// Every test file ends with its servers gone, whether its tests passed or not.
afterAll(async () => {
  await stopAllTestServers();
});
