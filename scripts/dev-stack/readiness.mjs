// Waiting for the stack's children to be up, counting only their own answers: a port this stack chose can be
// answered by another program (another `npm start`'s service that bound it first), and its 200 says nothing
// about this stack's process, which meanwhile fails with "address in use" (the supervisor moves it).
import { portAnswers } from './ports.mjs';
import { ownsPort, running } from './supervisor.mjs';
import { sleep } from './util.mjs';

/**
 * Whether an HTTP answer names the process that sent it as `pid`: true or false when it carries `pid` or an
 * `instance` id (runService's `<host>-<pid>-<hex>`, in every service's health answers), undefined when it names none
 * (an older build).
 */
export function answeredBy(body, pid) {
  if (!body || typeof body !== 'object') return undefined;
  if (Number.isInteger(body.pid)) return body.pid === pid;
  const m = typeof body.instance === 'string' ? /-(\d+)-[0-9a-f]+$/.exec(body.instance) : null;
  return m ? Number(m[1]) === pid : undefined;
}

/**
 * One look at a service: ready (/health/ready 200) and that answer from the entry's own process, by the
 * answer's own id when it carries one, else because that process held the port before and after the request.
 */
export async function serviceReady(entry, { fetchFn = fetch } = {}) {
  const child = entry.child;
  const heldBefore = ownsPort(entry);
  let body;
  try {
    const res = await fetchFn(`http://127.0.0.1:${entry.port}/health/ready`, { signal: AbortSignal.timeout(2_000) });
    if (res.status !== 200) return false;
    body = await res.json().catch(() => undefined);
  } catch {
    return false; // not listening yet
  }
  if (entry.child !== child || !running(entry)) return false;
  const byId = answeredBy(body, child.pid);
  return byId ?? (heldBefore && ownsPort(entry));
}

/**
 * Polls every service until each is ready (its own answer), stayed stopped (exit 78/2) or `ms` have passed, or
 * stopped() says so. Returns the names still pending and those that stayed stopped.
 */
export async function waitServices(entries, { stopped, stayedStopped, ms = 45_000, fetchFn } = {}) {
  const readyBy = Date.now() + ms;
  const pending = new Set(entries.map((e) => e.name));
  const halted = [];
  while (pending.size > 0 && Date.now() < readyBy && !stopped()) {
    for (const name of stayedStopped()) if (pending.delete(name)) halted.push(name);
    for (const entry of entries) {
      if (pending.has(entry.name) && (await serviceReady(entry, { fetchFn }))) pending.delete(entry.name);
    }
    if (pending.size > 0) await sleep(300);
  }
  return { pending: [...pending], stopped: halted };
}

/** True once the entry's own process accepts connections on its (current) port; false after ms or when stopped(). */
export async function waitOwned(entry, stopped, ms = 15_000) {
  const end = Date.now() + ms;
  while (Date.now() < end && !stopped()) {
    const child = entry.child;
    if (ownsPort(entry) && (await portAnswers(entry.port)) && entry.child === child && ownsPort(entry)) return true;
    await sleep(100);
  }
  return false;
}
