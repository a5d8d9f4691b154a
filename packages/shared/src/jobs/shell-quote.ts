/**
 * A word of a command shown to be pasted into a POSIX shell (a `vigil trigger …` re-run line in an alert, the CLI's
 * own hints): as it is when it holds only plain characters, else single-quoted, so `$(…)`, a backtick or a space in a
 * job name, target or reason stays text.
 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
