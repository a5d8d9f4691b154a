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
 */
export function noDelaySocket(
  opts: { host: string; port?: number; secure: boolean },
  timeoutMs: number,
): (o: unknown, cb: (err: Error | null, socketOptions?: { connection: net.Socket }) => void) => void {
  return (_o, cb) => {
    {
      const socket = net.connect({ host: opts.host, port: opts.port ?? (opts.secure ? 465 : 587), noDelay: true });
      const timer = setTimeout(
        () => socket.destroy(Object.assign(new Error('SMTP connection timeout'), { code: 'ETIMEDOUT' })),
        timeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        cb(null, { connection: socket });
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        cb(err);
      });
    }
  };
}
