import net from 'node:net';

export interface TarpitSmtp {
  url: string;
  /** Messages whose DATA the server took and then never answered. */
  readonly stuck: number;
  close(): Promise<void>;
}

/**
 * A real SMTP server (plain TCP) that accepts the whole conversation, then answers the end of DATA with "250-"
 * continuation lines every 100 ms, forever. The socket is never idle and the reply never ends, so none of
 * nodemailer's own timeouts (connect, greeting, socket idle) ever fires: a send to it hangs until someone else
 * bounds it. That is the stuck send the notifier must survive.
 */
export async function startTarpitSmtp(): Promise<TarpitSmtp> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let stuck = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let inData = false;
    let buffer = '';
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 tarpit ESMTP');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buffer = buffer.slice(end + 5);
          inData = false;
          stuck++;
          const t = setInterval(() => socket.write('250-still working on it\r\n'), 100);
          timers.add(t);
          socket.on('close', () => {
            clearInterval(t);
            timers.delete(t);
          });
          return;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') {
          reply('250-tarpit');
          reply('250 8BITMIME');
        } else if (verb === 'HELO' || verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') {
          reply('250 OK');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else {
          reply('502 not implemented');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    get stuck() {
      return stuck;
    },
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
