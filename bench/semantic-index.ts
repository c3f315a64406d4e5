// `node bench/semantic-index.ts [dims]`: where an exact scan stops being as fast as usearch's
// HNSW graph, for the semantic cache's index (src/cache/vector-index.ts). For each size it
// times, per query (k = 5): the exact scan (usearch's native SIMD exact search, what
// VectorIndex does below its switch-over) and an HNSW search; and per vector the HNSW
// insertion, which the scan does not pay. A cache adds about one vector per miss, so the
// last column (search + add) is what a lookup that misses costs. Vectors are the emulator's embeddings of
// generated support tickets (clustered, as real prompts are). Prints a table; run it alone
// on a quiet machine, it is a timing.
import usearch from 'usearch';
import { embedVector } from '../src/emulator/embeddings.ts';
import { exactSearch, unitVector } from '../src/cache/vector-index.ts';

const dims = Number(process.argv[2] ?? 1536);
const SIZES = [125, 250, 500, 1000, 2000, 4000, 8000, 16000];
const QUERIES = 200;

let seed = 7;
const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const words = 'app dashboard export invoice login billing import notifications slow blank twice timeout zone address filters saved update error page minutes account urgent renewal team mobile web api csv email'.split(' ');
const ticket = (): string => Array.from({ length: 18 }, () => pick(words)).join(' ') + ` ${Math.floor(rand() * 1e6)}`;

/** The median time of one call, in µs (a median: other work on the box shows up as outliers). */
const perOp = (fn: () => void, n: number): number => {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]! * 1000;
};

const max = SIZES[SIZES.length - 1]!;
process.stderr.write(`embedding ${max + QUERIES} texts at ${dims} dimensions…\n`);
const vectors = Array.from({ length: max + QUERIES }, () => unitVector(embedVector('text-embedding-3-small', ticket(), dims)));
const queries = vectors.slice(max);

console.log(`vectors: ${dims} dimensions, k = 5, ${QUERIES} queries per size; median times in µs`);
console.log('size    | exact scan | HNSW search | HNSW add | HNSW search+add | HNSW recall@5');
for (const n of SIZES) {
  const flat = new Float32Array(n * dims);
  const keys: number[] = [];
  for (let i = 0; i < n; i++) {
    flat.set(vectors[i]!, i * dims);
    keys.push(i);
  }
  let q = 0;
  exactSearch(flat, keys, n, dims, queries[0]!, 5);
  const scan = perOp(() => exactSearch(flat, keys, n, dims, queries[q++ % QUERIES]!, 5), QUERIES);
  const graph = new usearch.Index({ metric: 'cos', dimensions: dims, connectivity: 16 } as ConstructorParameters<typeof usearch.Index>[0]);
  let a = 0;
  const add = perOp(() => {
    graph.add(BigInt(a), vectors[a]!);
    a++;
  }, n);
  q = 0;
  const search = perOp(() => graph.search(queries[q++ % QUERIES]!, 5, 1), QUERIES);
  let agree = 0;
  for (const query of queries) {
    const exact = new Set(exactSearch(flat, keys, n, dims, query, 5).map((x) => x.key));
    for (const k of graph.search(query, 5, 1).keys) if (exact.has(Number(k))) agree++;
  }
  const cell = (x: number, w: number): string => x.toFixed(0).padStart(w);
  console.log(`${String(n).padEnd(7)} | ${cell(scan, 10)} | ${cell(search, 11)} | ${cell(add, 8)} | ${cell(search + add, 15)} | ${(agree / (5 * QUERIES)).toFixed(3).padStart(13)}`);
}
