import { type JobStatus, RUN_STATUSES } from '@vigil/shared';
import type { CommandContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { ms, table, time } from '../format.js';
import { requestJson } from '../nats-client.js';

interface RunRow {
  runId: string;
  job: string;
  trigger: string;
  status: string;
  scheduledAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  reason?: string;
  verdict?: string;
  requestedBy?: string;
  targets?: string[];
  stats?: { targets: number; succeeded: number; failed: number; skipped: number };
  failures?: { target: string; error: unknown }[];
  error?: { type: string; message: string; class: string };
  history?: { status: string; at: string }[];
  details?: Record<string, unknown>;
}

export async function runsCommand(
  ctx: CommandContext,
  opts: { job?: string; status?: string; since?: string; limit?: string },
) {
  const query: Record<string, unknown> = {};
  if (opts.job) query.job = opts.job;
  if (opts.status) {
    if (!RUN_STATUSES.includes(opts.status as JobStatus))
      throw new CliError(`--status must be one of ${RUN_STATUSES.join(', ')}`, EXIT.USAGE);
    query.status = opts.status;
  }
  if (opts.since) query.since = opts.since;
  if (opts.limit) {
    const n = Number(opts.limit);
    if (!Number.isInteger(n) || n < 1) throw new CliError('--limit must be a positive whole number', EXIT.USAGE);
    query.limit = n;
  }
  const body = await ctx.withNats((nc) => requestJson<{ runs: RunRow[] }>(nc, 'scheduler.runs', query));
  ctx.print(body.runs, () =>
    table(
      ['RUN', 'JOB', 'TRIGGER', 'STATUS', 'SCHEDULED', 'DURATION', 'TARGETS', 'REASON'],
      body.runs.map((r) => [
        r.runId,
        r.job,
        r.trigger,
        r.status,
        time(r.scheduledAt),
        ms(r.durationMs),
        r.stats ? `${r.stats.succeeded}/${r.stats.targets}` : r.targets?.join(','),
        r.verdict && (r.status === 'missed' || r.status === 'stuck') ? r.verdict : (r.reason ?? r.error?.message),
      ]),
    ),
  );
}

export async function runCommand(ctx: CommandContext, runId: string) {
  const r = await ctx.withNats((nc) => requestJson<RunRow>(nc, 'scheduler.run', { runId }));
  ctx.print(r, () => {
    const lines = [
      `run        ${r.runId}`,
      `job        ${r.job}`,
      `trigger    ${r.trigger}${r.requestedBy ? ` by ${r.requestedBy}` : ''}`,
      `status     ${r.status}`,
      `scheduled  ${time(r.scheduledAt)}`,
      `started    ${time(r.startedAt)}`,
      r.finishedAt
        ? `finished   ${time(r.finishedAt)}${r.durationMs !== undefined ? ` (${ms(r.durationMs)})` : ''}`
        : 'finished   -',
    ];
    if (r.reason) lines.push(`reason     ${r.reason}`);
    if (r.verdict && r.verdict !== r.reason)
      lines.push(`verdict    ${r.status === 'stuck' || r.status === 'missed' ? '' : 'was '}${r.verdict}`);
    if (r.targets) lines.push(`targets    ${r.targets.join(', ')}`);
    if (r.stats)
      lines.push(
        `stats      ${r.stats.succeeded} ok, ${r.stats.failed} failed, ${r.stats.skipped} skipped of ${r.stats.targets}`,
      );
    if (r.error) lines.push(`error      [${r.error.class}] ${r.error.type}: ${r.error.message}`);
    for (const f of r.failures ?? []) {
      const msg =
        typeof f.error === 'string' ? f.error : ((f.error as { message?: string })?.message ?? JSON.stringify(f.error));
      lines.push(`  failed   ${f.target}: ${msg}`);
    }
    const details = Object.entries(r.details ?? {});
    if (details.length > 0) lines.push('details', ...details.map(([key, value]) => `  ${key}: ${detailText(value)}`));
    if (r.history?.length) lines.push(`history    ${r.history.map((h) => `${h.status}@${time(h.at)}`).join(' → ')}`);
    return lines.join('\n');
  });
}

/** One detail on one line: text as it is, anything else as JSON, cut so a big value cannot flood the terminal. */
function detailText(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
