import { type EmailView, failuresHeading, followUpListed } from './view.js';

function table(pairs: Array<[string, string]>): string[] {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `  ${`${k}:`.padEnd(width + 2)}${v}`);
}

/** The plain-text email: the same content as the HTML one, readable in any client and in a terminal. */
export function renderAlertText(v: EmailView): string {
  const a = v.alert;
  const out: string[] = [
    `${v.severityLabel}: ${v.heading}`,
    '='.repeat(Math.min(72, v.heading.length + v.severityLabel.length + 2)),
    '',
  ];
  if (v.followUp && followUpListed(v.followUp.items))
    out.push(
      `${v.followUp.count} more alert(s) of this kind since ${v.followUp.since}; the latest one is shown below. They were:`,
      ...v.followUp.items.map((i) => `  - ${i}`),
      '',
    );
  else if (v.followUp)
    out.push(
      `${v.followUp.count} more alert(s) of this kind since ${v.followUp.since}${v.followUp.items.length ? ` (${v.followUp.items.join(', ')})` : ''}. The latest one is shown below.`,
      '',
    );
  if (a.sample)
    out.push('This is a TEST email sent by `vigil test-email`. The failure below is a sample of a real alert.', '');
  if (a.body) out.push(a.body, '');
  out.push('WHAT HAPPENED', ...table(v.details), '');
  if (a.error) {
    // a multi-line message (a command's exit code, stderr, stdout) stays inside the block: every line indented
    out.push('ERROR', ...`${a.error.type}: ${a.error.message}`.split('\n').map((l) => `  ${l}`), '');
    if (a.error.stack) out.push('STACK TRACE', ...a.error.stack.split('\n').map((l) => `  ${l}`), '');
  }
  if (a.stats) {
    const s: Array<[string, string]> = [
      ['Total', String(a.stats.targets)],
      ['Succeeded', String(a.stats.succeeded)],
      ['Failed', String(a.stats.failed)],
    ];
    if (a.stats.skipped !== undefined) s.push(['Skipped', String(a.stats.skipped)]);
    out.push('TARGETS', ...table(s), '');
  }
  if (a.failures?.length)
    out.push(failuresHeading(a).toUpperCase(), ...a.failures.map((f) => `  - ${f.target}: ${f.error}`), '');
  if (a.facts.length) out.push('DETAILS', ...table(a.facts), '');
  if (v.actions.length) out.push('RECOMMENDED ACTIONS', ...v.actions.map((x, i) => `  ${i + 1}. ${x}`), '');
  if (v.rerun)
    out.push(
      'RE-RUN',
      ...(v.rerun.when ? [`  ${v.rerun.when}`, ''] : []),
      `  ${v.rerun.cli}`,
      '',
      `  or through the API (${v.rerun.tokenHint}):`,
      `  ${v.rerun.curl}`,
      '',
    );
  if (v.runLink) out.push(`Run details: ${v.runLink}`);
  out.push(`System health: ${v.publicUrl.replace(/\/+$/, '')}/api/system/health`, `Event: ${a.eventId}`);
  return `${out.join('\n')}\n`;
}
