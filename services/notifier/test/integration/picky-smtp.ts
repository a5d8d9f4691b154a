import { startScriptedSmtp } from './scripted-smtp.js';

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
  const refused = new Set(refuse.map((a) => a.toLowerCase()));
  const messages: PickySmtp['messages'] = [];
  const state = { greeting: '220 picky ESMTP' };
  const server = await startScriptedSmtp((socket, reply) => {
    reply(state.greeting);
    if (!state.greeting.startsWith('220')) {
      socket.end();
      return undefined;
    }
    let rcpt: string[] = [];
    return {
      command: (verb, line) => {
        if (verb === 'EHLO' || verb === 'HELO') return '250 picky';
        if (verb === 'MAIL') return '250 2.1.0 ok';
        if (verb === 'RCPT') {
          const addr = /<([^>]*)>/.exec(line)?.[1] ?? '';
          if (refused.has(addr.toLowerCase())) return `550 5.1.1 <${addr}>: Recipient address rejected: User unknown`;
          rcpt.push(addr);
          return '250 2.1.5 ok';
        }
        if (verb === 'RSET' || verb === 'NOOP') return '250 ok';
        return undefined;
      },
      message: (data) => {
        messages.push({ rcptTo: rcpt, data });
        rcpt = [];
        reply('250 2.0.0 queued');
        return undefined;
      },
    };
  });
  return {
    url: server.url,
    messages,
    get greeting() {
      return state.greeting;
    },
    set greeting(g: string) {
      state.greeting = g;
    },
    close: server.close,
  };
}
