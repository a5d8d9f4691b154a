// What an SMTP server answered to one mail: who got it and who was refused, with its reply.

/** A recipient the server refused (RCPT TO answered 4xx/5xx) while it accepted the others. */
export interface RefusedRecipient {
  address: string;
  /** The server's reply, e.g. `550 5.1.1 <x@y>: Recipient address rejected`. */
  reply: string;
}

export interface SentMail {
  messageId: string;
  /** Recipients the server accepted (all of `to` unless some were refused). */
  accepted: string[];
  /** Recipients the server refused: the mail went to the others only. Empty when every one was accepted. */
  refused: RefusedRecipient[];
}

/** What nodemailer's sendMail resolves with (the parts read here). */
export interface SendInfo {
  messageId?: string;
  accepted?: unknown[];
  rejected?: unknown[];
  rejectedErrors?: Array<{ recipient?: unknown; response?: unknown; message?: unknown }>;
}

const addressOf = (a: unknown): string =>
  typeof a === 'string'
    ? a
    : typeof a === 'object' && a !== null
      ? String((a as { address?: unknown }).address ?? '')
      : '';

/**
 * nodemailer resolves a send as soon as one recipient was accepted; the refused ones are only listed in
 * `rejected` / `rejectedErrors` (with the server's reply). They are made explicit here so nobody is dropped silently.
 */
export function sentMailOf(to: string[], info: SendInfo): SentMail {
  const replies = new Map<string, string>();
  for (const e of info.rejectedErrors ?? []) {
    const address = addressOf(e.recipient);
    const reply = typeof e.response === 'string' && e.response ? e.response : String(e.message ?? 'refused');
    if (address) replies.set(address.toLowerCase(), reply);
  }
  const rejected = (info.rejected ?? []).map(addressOf).filter(Boolean);
  for (const address of replies.keys()) {
    if (!rejected.some((r) => r.toLowerCase() === address)) rejected.push(address);
  }
  const refused = rejected.map((address) => ({
    address,
    reply: replies.get(address.toLowerCase()) ?? 'refused (no reply text)',
  }));
  const refusedSet = new Set(rejected.map((r) => r.toLowerCase()));
  const accepted = info.accepted?.length
    ? info.accepted.map(addressOf).filter(Boolean)
    : to.filter((t) => !refusedSet.has(t.toLowerCase()));
  return { messageId: info.messageId ?? '', accepted, refused };
}
