import net from 'node:net';

/**
 * nodemailer ignores every other option when it is given `url`, so the pool settings would be lost: the URL is
 * turned into plain options here. smtps:// means implicit TLS; smtp:// upgrades with STARTTLS when offered;
 * user:pass@ is the login; `?requireTLS=true`, `?ignoreTLS=true`, `?rejectUnauthorized=false` are honoured.
 */
export interface SmtpConnectionOptions {
  host: string;
  port?: number;
  secure: boolean;
  auth?: { user: string; pass: string };
  requireTLS?: boolean;
  ignoreTLS?: boolean;
  tls?: { rejectUnauthorized: boolean };
}

export function smtpOptionsFromUrl(text: string): SmtpConnectionOptions {
  const url = new URL(text);
  const q = url.searchParams;
  const flag = (name: string) => (q.has(name) ? q.get(name) !== 'false' && q.get(name) !== '0' : undefined);
  const opts: SmtpConnectionOptions = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : undefined,
    secure: url.protocol === 'smtps:',
  };
  if (url.username) {
    opts.auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
  }
  const requireTLS = flag('requireTLS');
  if (requireTLS !== undefined) opts.requireTLS = requireTLS;
  const ignoreTLS = flag('ignoreTLS');
  if (ignoreTLS !== undefined) opts.ignoreTLS = ignoreTLS;
  const rejectUnauthorized = flag('rejectUnauthorized') ?? flag('tls.rejectUnauthorized');
  if (rejectUnauthorized !== undefined) opts.tls = { rejectUnauthorized };
  return opts;
}

/**
 * nodemailer's pool hook for opening connections: the same TCP connection, with Nagle off. Without it the end of
 * every message waits for the server's delayed ACK (~40 ms per email on loopback). TLS is still negotiated by
 * nodemailer on top of this socket (implicit for smtps://, STARTTLS otherwise).
 *
 * The socket is handed over at once, still connecting, and this hook never reports an error itself. nodemailer's
 * pool (7.x) only cleans up a pooled connection whose failure it sees on the socket: an error passed to this
 * callback makes its PoolResource answer the one mail and then stay in the pool as busy forever. Five refused
 * connects (SMTP down) used to fill the 5 slots, after which every send waited forever, even once SMTP was back,
 * and the breaker's half-open probe with it. Handed over like this, a refused or timed-out connect fails through
 * nodemailer's own socket error path, which removes the connection and frees its slot.
 */
export function noDelaySocket(
  opts: { host: string; port?: number; secure: boolean },
  timeoutMs: number,
): (o: unknown, cb: (err: Error | null, socketOptions?: { connection: net.Socket }) => void) => void {
  return (_o, cb) => {
    const socket = net.connect({ host: opts.host, port: opts.port ?? (opts.secure ? 465 : 587), noDelay: true });
    // nodemailer clears its own connection timer as soon as it gets the socket (it takes it for connected), so a
    // connect that never completes (a black-holed host) is bounded here; the error reaches nodemailer's handler.
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error('SMTP connection timeout'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    timer.unref();
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    // nodemailer handles the socket's errors with its own listener; this one only keeps an error emitted after
    // nodemailer let go of the socket from crashing the process.
    socket.on('error', () => {});
    // nodemailer attaches its 'error' listener synchronously inside this call, before any socket event can fire.
    cb(null, { connection: socket });
  };
}
