// Nearest neighbours by cosine similarity among the vectors a worker holds in memory: an
// exact scan while the set is small, an HNSW graph (usearch) once it is large.
//
// Why usearch: it installs prebuilt here (no compiler, no extension to load), it is kept up
// (unum-cloud/usearch), and it is an in-process index, so it works the same whichever store
// holds the vectors: SQLite or PostgreSQL (whose Debian 12 archive here has no pgvector).
// Each worker builds its own index from the store's rows (cache/semantic-cache.ts).
//
// The switch-over: bench/semantic-index.ts times both on this 2-core box (1536 dimensions,
// k = 5; figures in README.md "Semantic cache"). An exact scan (usearch's native SIMD scan,
// about 1 µs per stored vector) is as fast as an HNSW search below about EXACT_SCAN_BELOW
// vectors; above, the scan grows linearly and the graph's search stays near a millisecond.
// Inserting into the graph costs about 1 ms per vector, so building it is never done in one
// go (a worker starting on 100,000 stored vectors would stall for minutes): new vectors go to
// a tail that is scanned exactly, and once the index is past the switch-over the tail moves
// into the graph a chunk at a time, yielding to the event loop between chunks. A search
// merges the graph's answer with the tail's.
import usearch from 'usearch';

export interface Neighbour {
  key: number;
  /** Cosine similarity, 1 for the same direction. */
  similarity: number;
}

export interface VectorIndexOptions {
  /** Below this many vectors every search is an exact scan; default EXACT_SCAN_BELOW. */
  exactScanBelow?: number;
  /** HNSW edges per node (usearch's `connectivity`); default 16. */
  connectivity?: number;
}

/** Measured by bench/semantic-index.ts (see the header). */
export const EXACT_SCAN_BELOW = 1000;

/** Vectors moved into the graph per event-loop turn: about 30 ms of work at 1536 dimensions. */
const MIGRATE_CHUNK = 32;

type Graph = InstanceType<typeof usearch.Index>;

/** A unit-length copy of a vector (cosine similarity is then a dot product). */
export function unitVector(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  n = Math.sqrt(n);
  const out = new Float32Array(v.length);
  if (n === 0) return out;
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / n;
  return out;
}

/** The best `k` of an exact scan (usearch's native SIMD scan) over `count` vectors laid end to end in `flat`. */
export function exactSearch(flat: Float32Array, keys: readonly number[], count: number, dims: number, query: Float32Array, k: number): Neighbour[] {
  if (count === 0 || k <= 0) return [];
  // One thread: the worker's other work shares the same cores.
  const found = usearch.exactSearch(flat.subarray(0, count * dims), query, dims, Math.min(k, count), usearch.MetricKind.Cos, 1) as { keys: BigUint64Array; distances: Float32Array };
  const out: Neighbour[] = [];
  for (let i = 0; i < found.keys.length; i++) out.push({ key: keys[Number(found.keys[i])]!, similarity: 1 - found.distances[i]! });
  return out;
}

export class VectorIndex {
  readonly dimensions: number;
  private readonly exactScanBelow: number;
  private readonly connectivity: number;
  /** The tail: vectors not (yet) in the graph, end to end, grown by doubling. */
  private flat: Float32Array;
  private keys: number[] = [];
  private graph: Graph | undefined;
  private graphCount = 0;
  private migrating: Promise<void> | undefined;
  private closed = false;

  constructor(dimensions: number, opts: VectorIndexOptions = {}) {
    this.dimensions = dimensions;
    this.exactScanBelow = opts.exactScanBelow ?? EXACT_SCAN_BELOW;
    this.connectivity = opts.connectivity ?? 16;
    this.flat = new Float32Array(dimensions * 16);
  }

  get size(): number {
    return this.graphCount + this.keys.length;
  }

  /** Vectors searched through the HNSW graph; the rest are scanned exactly. */
  get inGraph(): number {
    return this.graphCount;
  }

  add(key: number, vector: Float32Array): void {
    if (vector.length !== this.dimensions) throw new Error(`vector index: a vector of ${vector.length} dimensions in an index of ${this.dimensions}`);
    const n = this.keys.length;
    if (this.flat.length < (n + 1) * this.dimensions) {
      const grown = new Float32Array(this.flat.length * 2);
      grown.set(this.flat);
      this.flat = grown;
    }
    this.flat.set(unitVector(vector), n * this.dimensions);
    this.keys.push(key);
    if (this.size >= this.exactScanBelow) this.migrating ??= this.migrate();
  }

  /** The `k` nearest vectors, most similar first. */
  search(query: Float32Array, k: number): Neighbour[] {
    if (this.size === 0 || k <= 0) return [];
    const unit = unitVector(query);
    const found = exactSearch(this.flat, this.keys, this.keys.length, this.dimensions, unit, k);
    if (this.graph && this.graphCount > 0) {
      const g = this.graph.search(unit, Math.min(k, this.graphCount), 1);
      for (let i = 0; i < g.keys.length; i++) found.push({ key: Number(g.keys[i]), similarity: 1 - g.distances[i]! });
      found.sort((a, b) => b.similarity - a.similarity);
    }
    return found.slice(0, k);
  }

  /** Resolves once the tail has moved into the graph (when the index is past the switch-over). */
  async settled(): Promise<void> {
    while (this.migrating) await this.migrating;
  }

  /** Stops moving vectors into the graph (the index stays searchable). */
  close(): void {
    this.closed = true;
  }

  /** Moves the tail into the graph from its end, a chunk per event-loop turn, until it is empty. */
  private async migrate(): Promise<void> {
    try {
      this.graph ??= new usearch.Index({ metric: 'cos', dimensions: this.dimensions, connectivity: this.connectivity } as ConstructorParameters<typeof usearch.Index>[0]);
      while (this.keys.length > 0 && !this.closed) {
        const take = Math.min(MIGRATE_CHUNK, this.keys.length);
        const from = this.keys.length - take;
        const keys = BigUint64Array.from(this.keys.slice(from), (k) => BigInt(k));
        // usearch copies the vectors; the tail then forgets them.
        this.graph.add(keys, this.flat.slice(from * this.dimensions, this.keys.length * this.dimensions), 1);
        this.graphCount += take;
        this.keys.length = from;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // A tail that grew large and emptied gives its memory back.
      if (this.keys.length === 0 && this.flat.length > this.dimensions * 64) this.flat = new Float32Array(this.dimensions * 16);
    } finally {
      this.migrating = undefined;
    }
  }
}
