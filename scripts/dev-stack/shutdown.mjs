// Stopping the stack: SIGTERM to the services first (they drain against a still-running NATS), then to the
// mail inbox, Redis and NATS; SIGKILL only for a child still alive after its grace period. Nothing is started
// again once this begins, not even a child waiting out its restart backoff.
import { finishRecord } from './record.mjs';
import { commandOf, INFRA_GRACE_MS, marked, runMark, SERVICE_GRACE_MS, terminate } from './processes.mjs';
import { children, exited, isStopping, running, stopStarting } from './supervisor.mjs';
import { say, sleep } from './util.mjs';

/** While stopping, the start-up code parks here instead of starting more. */
export const parked = () => new Promise(() => {});

let forceStop;
const forced = new Promise((r) => {
  forceStop = r;
});

/** One SIGTERM each; SIGKILL after graceMs (or, for services, right after a second Ctrl-C + their fast exit). */
async function stopChildren(list, graceMs, { services = false } = {}) {
  for (const c of list) if (running(c)) c.child.kill('SIGTERM');
  const all = Promise.all(list.map(exited));
  const outcome = await Promise.race([all.then(() => 'done'), sleep(graceMs), services ? forced : parked()]);
  if (outcome === 'force') {
    // What the user asked for with a second Ctrl-C: services treat a second signal as "exit now".
    for (const c of list) if (running(c)) c.child.kill('SIGTERM');
    await Promise.race([all, sleep(3_000)]);
  }
  const stuck = list.filter(running);
  if (stuck.length > 0) {
    const after = outcome === 'force' ? 'a second Ctrl-C' : `${graceMs / 1000}s`;
    say(`${stuck.map((c) => c.name).join(', ')} still running after ${after}: SIGKILL`);
    for (const c of stuck) c.child.kill('SIGKILL');
    await Promise.race([all, sleep(5_000)]);
  }
}

export async function stopAll(code = 0) {
  if (isStopping()) return;
  stopStarting();
  say('stopping… services drain first, then the mail inbox, Redis and NATS (Ctrl-C again: stop at once)');
  await stopChildren(
    children.filter((c) => !c.infra),
    SERVICE_GRACE_MS,
    { services: true },
  );
  await stopChildren(children.filter((c) => c.infra).reverse(), INFRA_GRACE_MS);
  // Anything a child started that outlived it (it carries this run's mark) goes too.
  const strays = marked(runMark);
  for (const p of strays) say(`stopping ${p.name}'s leftover process ${p.pid}: ${commandOf(p.pid).slice(0, 80)}`);
  const left = [
    ...children.filter(running).map((c) => ({ name: c.name, pid: c.child.pid })),
    ...(await terminate(strays, 5_000)),
  ];
  // What is left stays listed in pids.json, so the next `npm start` stops it.
  finishRecord(left);
  if (left.length === 0) say('stopped; nothing left running');
  else say(`stopped, but still running: ${left.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
  process.exit(left.length === 0 ? code : code || 1);
}

/**
 * A Ctrl-C reaches this process more than once (from the terminal, and relayed by npm and bootstrap.mjs):
 * signals within 2 s of the first are that same Ctrl-C; a later one is a second Ctrl-C.
 */
export function stopOnSignals() {
  let firstSignalAt = 0;
  const onSignal = () => {
    if (!isStopping()) {
      firstSignalAt = Date.now();
      void stopAll(0);
    } else if (Date.now() - firstSignalAt > 2_000) {
      say('second Ctrl-C: services exit now');
      forceStop('force');
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, onSignal);
}
