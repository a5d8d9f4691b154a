/**
 * Splits a POSIX shell command line into words (single quotes, double quotes with \" and \\ escapes,
 * backslash outside quotes), so a test runs exactly the command an email tells a human to paste.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      for (; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\' || line[i + 1] === '$')) i++;
        word += line[i];
      }
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
      inWord = true;
    } else if (c === '\\') {
      word += line[++i] ?? '';
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The first line of `text` that starts (after indentation) with `prefix`, trimmed. */
export function lineStartingWith(text: string, prefix: string): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith(prefix));
}
