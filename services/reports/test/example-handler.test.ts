import path from 'node:path';
import { startHttpReceiver } from '@vigil/shared/testing';
import { describe, expect, it } from 'vitest';
import type { HandlerContext } from '../src/handler-api.js';
import { loadModuleHandler } from '../src/handlers/module-handler.js';
import { outcomeOf } from '../src/runner/run-outcome.js';
import { handlerContext, serviceDir } from './helpers.js';

const examples = path.resolve(serviceDir, '../../examples');

describe('examples/handlers/uptime-digest.mjs (the documented module handler)', () => {
  it('loads through module:<path>, validates, and reports per-target outcomes', async () => {
    const receiver = await startHttpReceiver((req) => ({ status: req.url === '/down' ? 503 : 200 }));
    try {
      const handler = await loadModuleHandler('module:./handlers/uptime-digest.mjs', examples);
      const ctx = (targets: string[]): HandlerContext =>
        handlerContext({
          runId: 'r-1',
          job: 'uptime-digest',
          targets,
          options: { timeoutMs: 2000 },
          baseDir: examples,
        });
      expect(await handler.validate?.(ctx(['ftp://nope']))).toMatch(/not an http/);
      const result = await handler.run(ctx([`${receiver.url}/up`, `${receiver.url}/down`]));
      const outcome = outcomeOf(result, [`${receiver.url}/up`, `${receiver.url}/down`]);
      expect(outcome.status).toBe('partial');
      expect(outcome.failures?.map((f) => f.target)).toEqual([`${receiver.url}/down`]);
    } finally {
      await receiver.close();
    }
  });

  it('a module without a default handler is a validation error naming the file', async () => {
    await expect(loadModuleHandler('module:./does-not-exist.mjs', examples)).rejects.toMatchObject({
      errorClass: 'validation',
    });
  });
});
