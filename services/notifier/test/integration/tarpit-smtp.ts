import { startScriptedSmtp } from './scripted-smtp.js';

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
  const timers = new Set<NodeJS.Timeout>();
  let stuck = 0;
  const server = await startScriptedSmtp((socket, reply) => {
    reply('220 tarpit ESMTP');
    return {
      command: (verb) => {
        if (verb === 'EHLO') return ['250-tarpit', '250 8BITMIME'];
        if (verb === 'HELO' || verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP')
          return '250 OK';
        return undefined;
      },
      message: () => {
        stuck++;
        const t = setInterval(() => socket.write('250-still working on it\r\n'), 100);
        timers.add(t);
        socket.on('close', () => {
          clearInterval(t);
          timers.delete(t);
        });
        return 'hold';
      },
    };
  });
  return {
    url: server.url,
    get stuck() {
      return stuck;
    },
    close: async () => {
      for (const t of timers) clearInterval(t);
      await server.close();
    },
  };
}
