// The usual ports when they are free, otherwise free ones: a machine may already run NATS/Redis there, or
// another `npm start` (with its own VIGIL_STATE_DIR) may hold them. A port found free here can still be taken by
// someone else before the child binds it: the supervisor then sees the child's "address in use" (takenPort) and
// moves it to another port.
import net from 'node:net';

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
// A port given up (someone else took it) stays listed, so it is not picked again.
const taken = new Set();
/** The preferred port when it is free and not given to another child yet, else a free one; no preference: a free one. */
export async function pickPort(preferred) {
  if (preferred !== undefined && !taken.has(preferred) && (await portFree(preferred))) {
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

/** Does this output line of a child say that its port is in use elsewhere? */
const ADDRESS_IN_USE = /EADDRINUSE|address already in use/i;

/**
 * Which of `ports` a child's output line says is in use by another process, if it says so: a service's fatal log
 * (`listen EADDRINUSE: address already in use 127.0.0.1:8083`), nats-server's (`listen tcp 127.0.0.1:4222: bind:
 * address already in use`), Redis's (`Could not create server TCP listening socket 127.0.0.1:6379: bind: Address
 * already in use`), maildev's. Only a line naming the port counts: a job's own network error says nothing about it.
 */
export function takenPort(line, ports) {
  if (!ADDRESS_IN_USE.test(line)) return undefined;
  return ports.find((p) => p !== undefined && new RegExp(`:${p}(?!\\d)`).test(line));
}

/** Whether something accepts connections on the port right now. */
export const portAnswers = (port) =>
  new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
