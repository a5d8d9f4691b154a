import net from 'node:net';

export interface PickySmtp {
  url: string;
  /** Messages taken, with the recipients the server accepted for each. */
  readonly messages: Array<{ rcptTo: string[]; data: string }>;
  /** The greeting line (default `220 picky ESMTP`): e.g. `421 service not available` refuses every connection. */
  greeting: string;
  close(): Promise<void>;
}

/**
 * A real SMTP server (plain TCP) that answers RCPT TO of the addresses in `refuse` with `550 5.1.1 <addr>: Recipient
 * address rejected: User unknown` and accepts everything else, like a relay that knows its mailboxes.
 */
export async function startPickySmtp(refuse: string[]): Promise<PickySmtp> {
  const sockets = new Set<net.Socket>();
  const refused = new Set(refuse.map((a) => a.toLowerCase()));
  const messages: PickySmtp['messages'] = [];
  const state = { greeting: '220 picky ESMTP' };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply(state.greeting);
    if (!state.greeting.startsWith('220')) {
      socket.end();
      return;
    }
    let inData = false;
    let buffer = '';
    let rcpt: string[] = [];
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          data = buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          inData = false;
          messages.push({ rcptTo: rcpt, data });
          rcpt = [];
          reply('250 2.0.0 queued');
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') reply('250 picky');
        else if (verb === 'MAIL') reply('250 2.1.0 ok');
        else if (verb === 'RCPT') {
          const addr = /<([^>]*)>/.exec(line)?.[1] ?? '';
          if (refused.has(addr.toLowerCase())) reply(`550 5.1.1 <${addr}>: Recipient address rejected: User unknown`);
          else {
            rcpt.push(addr);
            reply('250 2.1.5 ok');
          }
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead');
        } else if (verb === 'RSET' || verb === 'NOOP') reply('250 ok');
        else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('502 not implemented');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    get greeting() {
      return state.greeting;
    },
    set greeting(g: string) {
      state.greeting = g;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
