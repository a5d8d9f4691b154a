import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors/codes.js';

// Operators look a code up in the README's table: every code Vigil can emit is there, and nothing else is.
describe('error codes in the README', () => {
  it('the "Error codes" table lists exactly the codes in codes.ts', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    const start = readme.indexOf('\n## Error codes\n');
    expect(start).toBeGreaterThan(0);
    const section = readme.slice(start + 1, readme.indexOf('\n## ', start + 1));
    const rows = [...section.matchAll(/^\| `(VIGIL_E_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(new Set(rows).size).toBe(rows.length);
    expect([...rows].sort()).toEqual([...new Set(Object.values(ErrorCode))].sort());
  });
});
