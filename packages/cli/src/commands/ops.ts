import { listDlq, replayDlq, type SecretStatus, Subjects } from '@vigil/shared';
import type { CommandContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { age, table, time } from '../format.js';
import { publishEvent, requestJson } from '../nats-client.js';

export async function secretsStatusCommand(ctx: CommandContext): Promise<void> {
  const rows = await ctx.withNats((nc) => requestJson<SecretStatus[]>(nc, 'secrets.status', {}, 3_000));
  ctx.print(rows, () =>
    rows.length === 0
      ? 'no secrets cached yet'
      : table(
          ['SECRET', 'AGE', 'SOURCE', 'STATE', 'LAST ERROR'],
          rows.map((r) => [
            r.name,
            age(r.ageSeconds),
            r.source,
            r.notFound ? 'NOT FOUND' : !r.cached ? 'NOT LOADED' : r.stale ? 'STALE' : 'fresh',
            r.lastError ? `${r.lastError.type}: ${r.lastError.message} (${time(r.lastError.at)})` : undefined,
          ]),
        ),
  );
}

/** Publishes `notify.send` (CRITICAL) so the whole alert path — notifier, SMTP, fallbacks — is exercised. */
export async function testEmailCommand(ctx: CommandContext, opts: { to?: string[] }): Promise<void> {
  const data: Record<string, unknown> = {
    severity: 'CRITICAL',
    title: 'Vigil test email',
    body: `A test alert sent with \`vigil test-email\` by ${ctx.env.userName} at ${new Date().toISOString()}. If you read this, alerts reach you.`,
    dedupeKey: `test-email-${Date.now()}`,
  };
  if (opts.to && opts.to.length > 0) data.recipients = opts.to;
  const ack = await ctx.withNats((nc) => publishEvent(nc, Subjects.notifySend, data));
  ctx.print(
    { published: Subjects.notifySend, seq: ack.seq, recipients: opts.to ?? 'default' },
    () =>
      `test email requested (notify.send #${ack.seq}) for ${opts.to?.join(', ') ?? 'the default recipients'}; check your inbox or \`vigil dlq list\``,
  );
}

export async function dlqListCommand(ctx: CommandContext, opts: { limit?: string }): Promise<void> {
  const limit = opts.limit ? Number(opts.limit) : 50;
  if (!Number.isInteger(limit) || limit < 1) throw new CliError('--limit must be a positive whole number', EXIT.USAGE);
  const entries = await ctx.withNats(async (nc) => listDlq(await nc.jetstreamManager(), { limit }));
  ctx.print(entries, () =>
    entries.length === 0
      ? 'dead-letter queue is empty'
      : table(
          ['SEQ', 'TIME', 'ORIGINAL SUBJECT', 'CLASS', 'DELIVERIES', 'ERROR'],
          entries.map((e) => [e.seq, time(e.time), e.originalSubject, e.errorClass, e.deliveries, e.error]),
        ),
  );
}

export async function dlqReplayCommand(ctx: CommandContext, seqText: string): Promise<void> {
  const seq = Number(seqText);
  if (!Number.isInteger(seq) || seq < 1) throw new CliError(`"${seqText}" is not a DLQ sequence number`, EXIT.USAGE);
  const r = await ctx.withNats(async (nc) => replayDlq(nc.jetstream(), await nc.jetstreamManager(), seq));
  const sent = r.duplicate
    ? `DLQ #${seq} was already replayed to ${r.subject} (${r.stream} #${r.seq}); nothing published again`
    : `replayed DLQ #${seq} to ${r.subject} (${r.stream} #${r.seq})`;
  // A kept entry is no failure (the message is queued), but health keeps counting it: say so.
  const left = r.removed
    ? 'removed from the dead-letter queue'
    : `still in the dead-letter queue (not removed: ${r.keptReason}); replaying it again is harmless`;
  ctx.print(
    {
      replayed: seq,
      subject: r.subject,
      stream: r.stream,
      seq: r.seq,
      duplicate: r.duplicate,
      removed: r.removed,
      ...(r.keptReason ? { keptReason: r.keptReason } : {}),
    },
    () => `${sent}; ${left}`,
  );
}

interface Health {
  ok: boolean;
  problems?: string[];
  services: { service: string; ready: boolean; instances?: number; error?: string }[];
  coverage: { job: string; covered: number; total: number }[];
  failureRates: { job: string; runs: number; bad: number; rate: number | null }[];
  openBreakers: {
    service: string;
    name: string;
    state: string;
    since: string;
    openSince?: string;
    instance?: string;
  }[];
  dlqDepth: number | null;
}

/** `vigil health`: exit 1 when anything is not healthy, so scripts and cron can alert on it. */
export async function healthCommand(ctx: CommandContext): Promise<boolean> {
  const h = await ctx.withNats((nc) => requestJson<Health>(nc, 'scheduler.health', {}, 8_000));
  ctx.print(h, () => {
    const parts = [
      table(
        // INSTANCES: those that answered; one of two replicas hung is ready, yet worth seeing
        ['SERVICE', 'READY', 'INSTANCES', 'DETAIL'],
        h.services.map((s) => [s.service, s.ready ? 'yes' : 'NO', s.instances, s.error]),
      ),
      '',
      table(
        ['JOB', 'COVERAGE TODAY', 'RUNS 24H', 'FAILURE RATE'],
        h.failureRates.map((f) => {
          const c = h.coverage.find((x) => x.job === f.job);
          return [
            f.job,
            c ? `${c.covered}/${c.total}` : '-',
            f.runs,
            f.rate === null ? '-' : `${Math.round(f.rate * 100)}%`,
          ];
        }),
      ),
      '',
      h.openBreakers.length
        ? table(
            ['OPEN BREAKER', 'STATE', 'SINCE', 'INSTANCE'],
            h.openBreakers.map((b) => [
              `${b.service}/${b.name}`,
              b.state,
              time(b.openSince ?? b.since),
              b.instance ?? '-',
            ]),
          )
        : 'breakers: all closed',
      `dlq depth: ${h.dlqDepth ?? 'unknown'}`,
      h.ok ? 'overall: OK' : ['overall: DEGRADED', ...(h.problems ?? []).map((p) => `  - ${p}`)].join('\n'),
    ];
    return parts.join('\n');
  });
  return h.ok;
}
