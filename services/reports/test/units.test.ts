import { type JobRun, PermanentError, TransientError, ValidationError } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { artifactName } from '../src/handlers/report-daily.js';
import { secretNamesOf } from '../src/health/health-sources.js';
import { Limiter } from '../src/runner/limiter.js';
import { hasSecretRefs, resolveSecretRefs } from '../src/runner/resolve-options.js';
import { terminalEvent, terminalEventJson } from '../src/runner/run-event.js';
import { failedOutcome, outcomeOf, type RunOutcome } from '../src/runner/run-outcome.js';
import { parseTargetList } from '../src/runner/targets.js';

describe('run outcome', () => {
  it('derives the status from per-target outcomes', () => {
    expect(outcomeOf({ targets: [{ target: 'a', ok: true }] }, ['a']).status).toBe('succeeded');
    const partial = outcomeOf(
      {
        targets: [
          { target: 'a', ok: true },
          { target: 'b', ok: false, error: new TransientError('x') },
        ],
      },
      ['a', 'b'],
    );
    expect(partial).toMatchObject({ status: 'partial', stats: { targets: 2, succeeded: 1, failed: 1, skipped: 0 } });
    expect(partial.failures?.[0]).toMatchObject({ target: 'b', error: { class: 'transient', message: 'x' } });
    expect(partial.failures?.[0].error.stack).toBeUndefined();
    const none = outcomeOf({ targets: [{ target: 'a', ok: false, error: new PermanentError('gone') }] }, ['a']);
    expect(none).toMatchObject({ status: 'failed', error: { class: 'permanent', message: 'gone' } });
    expect(outcomeOf(undefined, []).status).toBe('succeeded');
  });

  it('a planned target the handler leaves out is a failure (never a silent skip), so the run is partial', () => {
    const out = outcomeOf({ targets: [{ target: 'a', ok: true }] }, ['a', 'b', 'c']);
    expect(out.status).toBe('partial');
    expect(out.stats).toEqual({ targets: 3, succeeded: 1, failed: 2, skipped: 0 });
    expect(out.failures?.map((f) => f.target)).toEqual(['b', 'c']);
    expect(out.failures?.[0].error).toMatchObject({ class: 'permanent', code: 'VIGIL_E_TARGET_NOT_REPORTED' });
    expect(out.failures?.[0].error.message).toMatch(/no outcome for target b/);
    // a handler that says "succeeded" yet reports only some targets is still partial
    expect(outcomeOf({ status: 'succeeded', targets: [{ target: 'a', ok: true }] }, ['a', 'b']).status).toBe('partial');
    // an empty outcome list covers nothing
    expect(outcomeOf({ targets: [] }, ['a', 'b'])).toMatchObject({
      status: 'failed',
      error: { code: 'VIGIL_E_TARGET_NOT_REPORTED' },
    });
  });

  it('a handler that reports no per-target outcomes covers every planned target when it succeeds', () => {
    expect(outcomeOf(undefined, ['a', 'b'])).toEqual({
      status: 'succeeded',
      stats: { targets: 2, succeeded: 2, failed: 0, skipped: 0 },
    });
  });

  it('a thrown error fails every planned target with its class', () => {
    const out = failedOutcome(new ValidationError('bad'), ['a', 'b']);
    expect(out.error).toMatchObject({ class: 'validation', message: 'bad' });
    expect(out.error?.stack).toBeTruthy();
    expect(out.failures?.map((f) => f.target)).toEqual(['a', 'b']);
  });
});

describe('limiter', () => {
  it('bounds global and per-key concurrency; a job at its own limit never blocks other jobs', async () => {
    const l = new Limiter(3);
    expect(l.tryAcquire('forbid', 1)).toBe(true);
    expect(l.tryAcquire('forbid', 1)).toBe(false);
    let second = false;
    const waiter = l.acquire('forbid', 1).then(() => {
      second = true;
    });
    expect(l.tryAcquire('other')).toBe(true); // not stuck behind the forbid job's queue
    expect(l.tryAcquire('other')).toBe(true);
    expect(l.tryAcquire('third')).toBe(false); // global limit 3 reached
    l.release('forbid');
    await waiter;
    expect(second).toBe(true);
    expect(l.running).toBe(3);
    l.release('other');
    expect(l.tryAcquire('third')).toBe(true);
  });

  it('serves thousands of waiters in arrival order, the oldest that fits first across jobs', async () => {
    const l = new Limiter(2);
    expect(l.tryAcquire('a')).toBe(true);
    expect(l.tryAcquire('b', 1)).toBe(true);
    const started: string[] = [];
    let finishing = false;
    const all: Promise<void>[] = [];
    for (let i = 0; i < 3000; i++) {
      const key = i % 3 === 0 ? 'b' : 'a';
      const run = l.acquire(key, key === 'b' ? 1 : Number.POSITIVE_INFINITY).then(() => {
        started.push(`${key}${i}`);
        // Once draining, each run finishes right after it starts (and frees its slot for the next one).
        if (finishing) queueMicrotask(() => l.release(key));
      });
      all.push(run);
    }
    expect(l.queued).toBe(3000);
    // A newcomer of a job with waiters queues behind them.
    expect(l.tryAcquire('a')).toBe(false);
    // Each release starts the oldest waiter that fits: b0 waits for b's own slot, so a1 goes first.
    l.release('a');
    await Promise.resolve();
    expect(started).toEqual(['a1']);
    l.release('b');
    await Promise.resolve();
    expect(started).toEqual(['a1', 'b0']);
    finishing = true;
    l.release('a');
    l.release('b');
    await Promise.all(all);
    expect(started).toHaveLength(3000);
    expect(new Set(started).size).toBe(3000);
    const order = (k: string) => started.filter((s) => s.startsWith(k)).map((s) => Number(s.slice(1)));
    expect(order('a')).toEqual([...order('a')].sort((x, y) => x - y));
    expect(order('b')).toEqual([...order('b')].sort((x, y) => x - y));
    expect(l.queued).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(l.running).toBe(0);
  });
});

describe('targets and secrets', () => {
  it('parses target lists from secrets', () => {
    expect(parseTargetList('["a","b"]')).toEqual(['a', 'b']);
    expect(parseTargetList('a, b\nc')).toEqual(['a', 'b', 'c']);
    expect(parseTargetList('[{"id":"x"}]')).toEqual(['x']);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal secret reference, not a template
  it('resolves ${secret:…} deep inside options and knows when there are none', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal secret reference, not a template
    const secrets = { get: async () => '', resolve: async (t: string) => t.replace('${secret:k}', 'VALUE') };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal secret reference, not a template
    expect(await resolveSecretRefs({ a: ['x ${secret:k}'], b: 1 }, secrets)).toEqual({ a: ['x VALUE'], b: 1 });
    expect(hasSecretRefs({ a: { b: 'plain' } })).toBe(false);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal secret reference, not a template
    expect(hasSecretRefs({ a: { b: '${secret:k}' } })).toBe(true);
  });

  it('lists the secrets a jobs file depends on', () => {
    const base = {
      timezone: 'UTC',
      handler: 'http',
      retries: { max: 0, backoff: 'fixed' as const, base: 1, cap: 1 },
      concurrency: 'allow' as const,
    };
    expect(
      secretNamesOf([
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal secret reference, not a template
        { ...base, name: 'a', targets: { secret: 'companies' }, options: { apiKey: '${secret:openai.key}' } },
        { ...base, name: 'b', alerts: { secret: 'alert-recipients' }, options: {} },
      ]),
    ).toEqual(['alert-recipients', 'companies', 'openai']);
  });

  it('names artifacts <job>/<date>/<target>.md with unsafe characters replaced', () => {
    expect(artifactName('daily', '2026-11-24', 'acme inc/eu')).toBe('daily/2026-11-24/acme_inc_eu.md');
  });
});

describe('terminalEventJson', () => {
  const base = {
    runId: 'daily-2026-11-24',
    job: 'daily',
    attempt: 1,
    trigger: 'schedule' as const,
    scheduledAt: '2026-11-24T06:00:00.000Z',
    status: 'requested' as const,
  };
  const cases: [string, JobRun, RunOutcome][] = [
    ['a plain run', base, { status: 'succeeded' }],
    [
      'reason and requestedBy with characters that need escaping',
      { ...base, trigger: 'manual', reason: 'say "hi"\n\\ ok ✓', requestedBy: 'ops\u2028team' },
      { status: 'succeeded' },
    ],
    ['a run id with a quote', { ...base, runId: 'r"1' }, { status: 'failed' }],
    ['targets (general path)', { ...base, targets: ['a', 'b'] }, { status: 'succeeded' }],
    [
      'a failed run with an error (general path)',
      base,
      { status: 'failed', error: { type: 'Error', message: 'boom', class: 'transient' } as never },
    ],
  ];
  for (const [name, req, outcome] of cases) {
    it(`writes exactly what JSON.stringify(terminalEvent(...)) would: ${name}`, () => {
      const fast = terminalEventJson(req, outcome, 2, 1_763_964_000_000, 1_763_964_000_123);
      const parsed = JSON.parse(fast.json);
      const slow = terminalEvent(req, outcome, 2, 1_763_964_000_000, 1_763_964_000_123, parsed.id);
      expect(fast.json).toBe(JSON.stringify(slow));
      expect(fast.subject).toBe(slow.subject);
      expect(fast.id).toBe(slow.id);
    });
  }
});
