// The `llm_batch` marker of an output line answered by the semantic cache: where the answer
// came from, both prompts and their similarity, so that a user can audit every reuse, and
// what the reuse saved. Pure; the exact cache's marker is in exact-cache.ts.

export interface SemanticHitMarker {
  cache: 'semantic';
  /** Cosine similarity of the two prompts' embeddings (6 decimals). */
  similarity: number;
  /** This item's prompt, as compared (domain/semantic-prompt.ts: the conversation without its system prompt). */
  text: string;
  /** The prompt whose answer was reused. */
  matched_text: string;
  from_run: string;
  from_custom_id: string;
  /** What the reused answer's usage costs at this run's prices (the embedding's cost is the item's cost). */
  saved_usd: number;
}

/**
 * How a stored marker of a semantic hit begins: the store counts semantic hits by it
 * (store/selection-sql.ts), so the marker is always serialised with `cache` first.
 */
export const SEMANTIC_MARKER_PREFIX = '{"cache":"semantic"';

export function semanticHitMarker(
  hit: { similarity: number; text: string; matchedText: string },
  fromRun: string,
  fromCustomId: string,
  savedUsd: number,
): SemanticHitMarker {
  return {
    cache: 'semantic',
    // Float rounding can put a vector's similarity to itself a hair above 1.
    similarity: Math.min(1, Math.round(hit.similarity * 1e6) / 1e6),
    text: hit.text,
    matched_text: hit.matchedText,
    from_run: fromRun,
    from_custom_id: fromCustomId,
    saved_usd: Math.round(savedUsd * 1e12) / 1e12,
  };
}
