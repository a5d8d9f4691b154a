import net from 'node:net';

/** What a scripted SMTP server does with one connection. */
export interface SmtpScript {
  /**
   * Answers a command line other than DATA and QUIT (`verb` is its first four letters, upper-cased): the reply
   * line(s), or undefined for `502 not implemented`.
   */
  command(verb: string, line: string): string | string[] | undefined;
  /** The content after DATA, up to (not with) the lone "."; return 'hold' to read no more of what has arrived. */
  message(data: string): 'hold' | undefined;
}

export interface ScriptedSmtp {
  url: string;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * A real SMTP server (plain TCP on 127.0.0.1) that reads CRLF command lines and DATA content and leaves the answers
 * to a script: `connect` writes the greeting through `reply` and returns the connection's script, or undefined to
 * read nothing (after ending the socket). DATA is answered `354 go ahead`, QUIT `221 bye` (then the socket ends).
 */
export async function startScriptedSmtp(
  connect: (socket: net.Socket, reply: (line: string) => void) => SmtpScript | undefined,
): Promise<ScriptedSmtp> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const reply = (line: string) => socket.write(`${line}\r\n`);
    const script = connect(socket, reply);
    if (!script) return;
    let inData = false;
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          const data = buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          inData = false;
          if (script.message(data) === 'hold') return;
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else {
          const answer = script.command(verb, line) ?? '502 not implemented';
          for (const l of typeof answer === 'string' ? [answer] : answer) reply(l);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
