import { createLogger, systemClock } from '@vigil/shared';
import { startFakeLlm } from '@vigil/shared/testing';
import { describe, expect, it } from 'vitest';
import { ModelChain } from '../src/llm/model-chain.js';

const log = createLogger({ service: 'test', level: 'silent' });
const options = (endpoint: string) => ({
  endpoint,
  models: ['gpt-4.1-mini'],
  retries: 0,
  baseDelayMs: 1,
  maxDelayMs: 1,
  maxRetryAfterMs: 1_000,
  timeoutMs: 2_000,
});

describe('model chain breakers', () => {
  it('the same model on two endpoints: a dead endpoint opens its own breaker, the other keeps answering', async () => {
    const [down, up] = await Promise.all([startFakeLlm({ '*': { status: 503 } }), startFakeLlm()]);
    try {
      const chain = new ModelChain({ log, clock: systemClock, failureThreshold: 2 });
      const signal = new AbortController().signal;
      const ask = (endpoint: string) =>
        chain.complete(options(endpoint), [{ role: 'user', content: 'acme' }], signal, log);
      for (let i = 0; i < 2; i++) await expect(ask(down.url)).rejects.toThrow(/every model failed/);
      // once its breaker is open, the model is skipped: the alert still says what the endpoint did
      await expect(ask(down.url)).rejects.toThrow(
        /gpt-4\.1-mini: not called, its breaker is open after: model gpt-4\.1-mini: HTTP 503/,
      );
      const answer = await ask(up.url);
      expect(answer.text).toContain('acme');

      const states = chain.states();
      expect(states).toHaveLength(2);
      const name = (u: string) => `llm-gpt-4.1-mini@${new URL(u).host}`;
      expect(states).toEqual(
        expect.arrayContaining([
          { name: name(down.url), state: 'open' },
          { name: name(up.url), state: 'closed' },
        ]),
      );
    } finally {
      await Promise.all([down.close(), up.close()]);
    }
  });
});
