// Splits a run's items (numbered by seq 0..total-1 in input order) into fixed-size chunks.
// Ranges are computed on demand, so a million-item run never materialises its plan.

export interface ChunkRange {
  index: number;
  seqStart: number;
  /** Exclusive. */
  seqEnd: number;
}

function check(total: number, chunkSize: number): void {
  if (!Number.isSafeInteger(total) || total < 0) {
    throw new RangeError(`total must be a non-negative integer, got ${total}`);
  }
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`chunkSize must be an integer >= 1, got ${chunkSize}`);
  }
}

export function chunkCount(total: number, chunkSize: number): number {
  check(total, chunkSize);
  return Math.ceil(total / chunkSize);
}

/** The index-th chunk, O(1). */
export function chunkRange(index: number, total: number, chunkSize: number): ChunkRange {
  const count = chunkCount(total, chunkSize);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`chunk index ${index} out of range: ${count} chunk(s) of ${chunkSize} for ${total} item(s)`);
  }
  const seqStart = index * chunkSize;
  return { index, seqStart, seqEnd: Math.min(seqStart + chunkSize, total) };
}

export function planChunks(total: number, chunkSize: number): ChunkRange[] {
  const count = chunkCount(total, chunkSize);
  return Array.from({ length: count }, (_, i) => chunkRange(i, total, chunkSize));
}
