/**
 * Finds the line of a command's output that states its error, so that the failure message can quote it even when
 * it is not among the last lines: Node and Java print the error first and its stack frames after it, Ruby the error
 * then `from …` frames, so the tail alone often holds nothing but frames.
 */

/** Longest error line quoted (the rest is cut), so that the message stays bounded. */
export const ERROR_LINE_MAX = 500;

/**
 * A line that names an error the way runtimes print one, at its start: `Error: …`, `TypeError: …`,
 * `Error [ERR_X]: …` (Node), `Exception in thread "main" java.lang.IllegalStateException: …`,
 * `Caused by: java.sql.SQLException: …` (Java), `ValueError: …` (Python), `panic: …` (Go),
 * `thread 'main' panicked at …` (Rust), `error: …`/`fatal: …` (CLIs), `…: msg (RuntimeError)` (Ruby).
 * Not a source line that merely mentions one (`throw new Error('…')`, which Node echoes before the error).
 */
const STRONG =
  /^\s*(?:Uncaught\s+|Exception in thread "[^"]*"\s+|Caused by:\s+|\[cause\]:\s+)?(?:[\w$]+\.)*[\w$]*(?:Error|Exception)(?:\s*\[[^\]]*\])?(?::|\s*$)|^(?:panic|fatal|error|FATAL|ERROR)(?:\[[^\]]*\])?:|^thread '[^']*' panicked\b|\(\w*(?:Error|Exception)\)\s*$/;

/** Anything that looks like an error, when no line does as {@link STRONG}. */
const WEAK = /\b\w*(Error|Exception)\b|^(error|fatal|panic)\b|Traceback/i;

/** A stack frame (`at …` in Node/Java, `from …` in Ruby, `File "…"` in Python): never the error line itself. */
const FRAME = /^\s*(?:at\s|from\s|File\s")/;

export interface ErrorLine {
  /** The line, without its line break, cut at {@link ERROR_LINE_MAX}. */
  line: string;
  /** Its 0-based line number in the whole output (not only the tail kept). */
  index: number;
}

/**
 * Fed a stream's output chunk by chunk, keeps its first error line ({@link STRONG}, else {@link WEAK}) and counts
 * its line breaks; it keeps no more of the output than the line being read (cut at {@link ERROR_LINE_MAX}).
 */
export class ErrorLineScanner {
  /** Line breaks seen so far: the 0-based number of the line being read. */
  newlines = 0;
  private partial = '';
  private strong: ErrorLine | undefined;
  private weak: ErrorLine | undefined;

  push(chunk: string): void {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      this.append(chunk.slice(start, nl));
      this.check();
      this.partial = '';
      this.newlines++;
      start = nl + 1;
    }
    this.append(chunk.slice(start));
  }

  /** The first error line, the output's unterminated last line included. */
  found(): ErrorLine | undefined {
    if (this.strong === undefined && this.partial !== '') this.check();
    return this.strong ?? this.weak;
  }

  private append(s: string): void {
    // Beyond the cut nothing is quoted: what a huge line carries past it is not kept.
    if (this.partial.length <= ERROR_LINE_MAX) this.partial += s.slice(0, ERROR_LINE_MAX + 1 - this.partial.length);
  }

  private check(): void {
    if (this.strong !== undefined) return;
    const text = this.partial.replace(/\r$/, '');
    if (text.trim() === '' || FRAME.test(text)) return;
    const line = text.length > ERROR_LINE_MAX ? `${text.slice(0, ERROR_LINE_MAX)}…` : text;
    if (STRONG.test(text)) this.strong = { line, index: this.newlines };
    else if (this.weak === undefined && WEAK.test(text)) this.weak = { line, index: this.newlines };
  }
}

/**
 * The part of a failure message quoting one stream: its last `lines` lines, preceded by its first error line and
 * how many lines lie between the two when that line is not among them. `tail` is the output's kept tail (its end),
 * `error` and `newlines` what an {@link ErrorLineScanner} found in the whole output.
 */
export function quoteOutput(tail: string, lines: number, error: ErrorLine | undefined, newlines: number): string {
  const trimmed = tail.trimEnd();
  const last = trimmed === '' ? [] : trimmed.split('\n').slice(-lines);
  const quoted = last.join('\n');
  if (error === undefined) return quoted;
  if (last.length === 0) return error.line;
  // The number of the first quoted line in the whole output: its line breaks, less the trailing ones trimmed.
  const trailing = countNewlines(tail) - countNewlines(trimmed);
  const firstQuoted = newlines - trailing - (last.length - 1);
  if (error.index >= firstQuoted || last.some((l) => l.replace(/\r$/, '') === error.line)) return quoted;
  const skipped = firstQuoted - error.index - 1;
  if (skipped === 0) return `${error.line}\n${quoted}`;
  return `${error.line}\n… (${skipped} line${skipped === 1 ? '' : 's'} skipped)\n${quoted}`;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
