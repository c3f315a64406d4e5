// The semantic cache's threshold as a run carries it: a cosine similarity in (0, 1].
// The default was chosen on the pair set of test/integration/semantic-cache.test.ts: the
// table and the reasoning are in cache/semantic-cache.ts's header. Pure.

export const DEFAULT_SEMANTIC_THRESHOLD = 0.92;

/** `default` (DEFAULT_SEMANTIC_THRESHOLD) or a number in (0, 1]; undefined for anything else. */
export function parseSemanticThreshold(text: string): number | undefined {
  const s = text.trim();
  if (s.toLowerCase() === 'default') return DEFAULT_SEMANTIC_THRESHOLD;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 && n <= 1 ? n : undefined;
}
