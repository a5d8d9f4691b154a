import { type AddressObject, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

export interface CapturedMail {
  subject: string;
  from: string;
  to: string[];
  html: string;
  text: string;
  headers: Record<string, string>;
  /** Envelope recipients (RCPT TO), which include Bcc. */
  rcptTo: string[];
  receivedAt: Date;
}

export interface SmtpSink {
  url: string;
  port: number;
  messages: CapturedMail[];
  waitForMessages(count: number, timeoutMs?: number): Promise<CapturedMail[]>;
  clear(): void;
  /** 'reject' answers every message with a 451 transient error, 'refuse' with a 550 permanent one; 'accept' is the default. */
  setMode(mode: 'accept' | 'reject' | 'refuse'): void;
  /**
   * The next message is held, neither stored nor answered, until `release()` (a slow server mid-delivery):
   * `arrived` resolves once it is here.
   */
  holdNext(): { arrived: Promise<void>; release(): void };
  stop(): Promise<void>;
  /** Listens again on the same port after stop(). */
  start(): Promise<void>;
}

function addresses(a: AddressObject | AddressObject[] | undefined): string[] {
  if (!a) return [];
  const list = Array.isArray(a) ? a : [a];
  return list.flatMap((x) => x.value.map((v) => v.address ?? '')).filter(Boolean);
}

/** An in-process SMTP server that keeps every message it receives, parsed. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const port = await freePort();
  const messages: CapturedMail[] = [];
  let mode: 'accept' | 'reject' | 'refuse' = 'accept';
  let server: SMTPServer | undefined;
  let hold: { arrived: () => void; released: Promise<void> } | undefined;

  const listen = async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (_auth, _session, cb) => cb(null, { user: 'test' }),
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (mode === 'reject' || mode === 'refuse') {
            const code = mode === 'reject' ? 451 : 550;
            const err = Object.assign(new Error('sink is rejecting mail'), { responseCode: code });
            cb(err);
            return;
          }
          const held = hold;
          hold = undefined;
          held?.arrived();
          (held?.released ?? Promise.resolve())
            .then(() => simpleParser(Buffer.concat(chunks)))
            .then((mail) => {
              const headers: Record<string, string> = {};
              for (const [k, v] of mail.headers) headers[k] = typeof v === 'string' ? v : JSON.stringify(v);
              messages.push({
                subject: mail.subject ?? '',
                from: addresses(mail.from).join(', '),
                to: addresses(mail.to),
                html: typeof mail.html === 'string' ? mail.html : '',
                text: mail.text ?? '',
                headers,
                rcptTo: session.envelope.rcptTo.map((r) => r.address),
                receivedAt: new Date(),
              });
              cb();
            })
            .catch((err: Error) => cb(err));
        });
      },
    });
    const srv = server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
    });
    srv.on('error', () => {});
  };
  await listen();

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    waitForMessages: (count, timeoutMs = 10_000) =>
      waitFor(() => (messages.length >= count ? messages.slice() : undefined), {
        timeout: timeoutMs,
        message: `${count} mail(s), have ${messages.length}`,
      }),
    clear: () => {
      messages.length = 0;
    },
    setMode: (m) => {
      mode = m;
    },
    holdNext: () => {
      let arrived!: () => void;
      let release!: () => void;
      const arrival = new Promise<void>((r) => {
        arrived = r;
      });
      hold = { arrived, released: new Promise<void>((r) => (release = r)) };
      return { arrived: arrival, release };
    },
    stop: async () => {
      const srv = server;
      server = undefined;
      if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
    start: async () => {
      if (!server) await listen();
    },
  };
}
