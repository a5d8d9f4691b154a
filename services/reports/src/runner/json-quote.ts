/** Whether a string needs JSON escaping (quote, backslash, control characters, U+2028/9). */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

/** A JSON string literal; ids and subjects rarely need escaping, so the common case skips JSON.stringify. */
export const jsonQuote = (s: string): string => (needsEscape(s) ? JSON.stringify(s) : `"${s}"`);
