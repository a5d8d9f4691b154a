import { existsSync } from 'node:fs';
import path from 'node:path';

export const say = (msg) => console.log(`[vigil] ${msg}`);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Daemons live in sbin on Debian, often not on a user's PATH. */
export const which = (bin) =>
  [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin']
    .filter(Boolean)
    .map((d) => path.join(d, bin))
    .find((p) => existsSync(p));

/** A value as one word of a POSIX shell command line: as it is when that is safe, else single-quoted. */
export const shellWord = (v) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", `'\\''`)}'`);
