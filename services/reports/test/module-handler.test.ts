import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@vigil/shared/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobHandler } from '../src/handler-api.js';
import { loadModuleHandler } from '../src/handlers/module-handler.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vigil-module-handler-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeModule(name: string, body: string, mtimeSec: number): void {
  const file = path.join(dir, name);
  writeFileSync(file, body);
  utimesSync(file, mtimeSec, mtimeSec);
}

async function answerOf(handler: JobHandler | Promise<JobHandler>): Promise<unknown> {
  return (await handler).run({} as never);
}

describe('module:<path> handlers', () => {
  it('are loaded once and then served without a promise; an edited module is imported afresh', async () => {
    writeModule('job.mjs', 'export default { async run() { return { details: { v: 1 } }; } };\n', 1_700_000_000);
    const first = await loadModuleHandler('module:./job.mjs', dir);
    expect(await answerOf(first)).toEqual({ details: { v: 1 } });
    // The per-run path: the loaded handler itself, not a promise of it.
    expect(loadModuleHandler('module:./job.mjs', dir)).toBe(first);

    writeModule('job.mjs', 'export default { async run() { return { details: { v: 2 } }; } };\n', 1_700_000_100);
    // The file is looked at again within a second.
    const second = await waitFor(async () => {
      const h = await loadModuleHandler('module:./job.mjs', dir);
      return h !== first ? h : undefined;
    }, 5_000);
    expect(await answerOf(second)).toEqual({ details: { v: 2 } });
    expect(loadModuleHandler('module:./job.mjs', dir)).toBe(second);
  });

  it('a module that does not load is tried again once it is fixed', async () => {
    writeModule('broken.mjs', 'export default 42;\n', 1_700_000_000);
    await expect(loadModuleHandler('module:./broken.mjs', dir)).rejects.toMatchObject({
      errorClass: 'validation',
      message: expect.stringContaining('defineHandler'),
    });
    writeModule(
      'broken.mjs',
      'export default { async run() { return { details: { fixed: true } }; } };\n',
      1_700_000_100,
    );
    const fixed = await waitFor(
      () =>
        Promise.resolve(loadModuleHandler('module:./broken.mjs', dir)).then(
          (h) => h,
          () => undefined,
        ),
      5_000,
    );
    expect(await answerOf(fixed)).toEqual({ details: { fixed: true } });
  });
});
