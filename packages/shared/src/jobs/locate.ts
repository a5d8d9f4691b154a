import { type Document, isMap, isScalar, type LineCounter, type Node, type Pair } from 'yaml';

type PathKey = string | number;

function pairFor(node: unknown, key: PathKey): Pair | undefined {
  if (!isMap(node)) return undefined;
  return node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key)) as Pair | undefined;
}

/**
 * The line and column where a path points: the value when it exists, else the key, else the nearest ancestor.
 * `atKey` points at the key itself (unknown keys, bad job names).
 */
export function locate(
  doc: Document,
  counter: LineCounter,
  path: readonly PathKey[],
  atKey = false,
): { line: number; column: number } {
  let node: unknown = doc.contents;
  let best: Node | undefined = doc.contents ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    const last = i === path.length - 1;
    const pair = pairFor(node, key);
    if (pair) {
      if (last && atKey && pair.key) {
        best = pair.key as Node;
        break;
      }
      best = ((pair.value as Node | null) ?? (pair.key as Node)) || best;
      node = pair.value;
      continue;
    }
    const child =
      typeof key === 'number' && node && typeof node === 'object' && 'items' in node
        ? (node as { items: unknown[] }).items[key]
        : undefined;
    if (!child) break;
    best = child as Node;
    node = child;
  }
  const offset = best?.range?.[0] ?? 0;
  const pos = counter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

export function formatPath(path: readonly PathKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : p))
    .join('.')
    .replace(/\.\[/g, '[');
}
