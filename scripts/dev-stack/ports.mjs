// The usual ports when they are free, otherwise free ones: a machine may already run NATS/Redis there, or
// another `npm start` (a test's, with its own VIGIL_STATE_DIR) may hold them.
import net from 'node:net';
import { sleep } from './util.mjs';

export const portFree = (port) =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

const anyPort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// Nothing listens on a picked port until its child starts: without this list two children could get the same one.
const taken = new Set();
export async function pickPort(preferred) {
  if (!taken.has(preferred) && (await portFree(preferred))) {
    taken.add(preferred);
    return preferred;
  }
  for (;;) {
    const p = await anyPort();
    if (!taken.has(p)) {
      taken.add(p);
      return p;
    }
  }
}

/** True once something accepts connections on the port; false after ms, or as soon as stopped() says so. */
export async function waitPort(port, stopped, ms = 15_000) {
  const end = Date.now() + ms;
  while (Date.now() < end && !stopped()) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}
