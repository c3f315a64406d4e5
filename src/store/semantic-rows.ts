// The semantic cache's rows, as both stores keep them (table `semantic_cache`): one prompt's
// embedding and the exact-cache key of the answer it stands for. Every worker reads them
// into its own in-memory index (cache/semantic-cache.ts) and follows new rows by id, so the
// vectors live in the store that many workers already share, SQLite or PostgreSQL alike.
// A vector is stored as float32 little-endian bytes (BLOB / bytea): 4 bytes per dimension.
import { num, type Row } from './rows.ts';

/** An embedding space: vectors of one model and size are comparable, no others. */
export interface SemanticSpace {
  embeddingModel: string;
  dimensions: number;
}

export interface NewSemanticEntry extends SemanticSpace {
  vector: Float32Array;
  /** The prompt as the guard reads it (domain/semantic-prompt.ts `text`). */
  promptText: string;
  /** The exact cache's key (sha256 hex) of the answer this prompt got. */
  exactKey: string;
  /** The chat request's model. */
  model: string;
  /** sha256 hex of the request's scope (domain/semantic-prompt.ts): a hit needs the same. */
  scopeKey: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

export interface SemanticEntry extends NewSemanticEntry {
  /** Increasing in insertion order (not always in commit order on PostgreSQL: readers allow for late ids). */
  id: number;
}

export const SQLITE_SEMANTIC_SCHEMA = `
CREATE TABLE IF NOT EXISTS semantic_cache (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  embedding_model TEXT    NOT NULL,
  dimensions      INTEGER NOT NULL,
  vector          BLOB    NOT NULL,
  prompt_text     TEXT    NOT NULL,
  exact_key       TEXT    NOT NULL,
  model           TEXT    NOT NULL,
  scope_key       TEXT    NOT NULL,
  created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS semantic_cache_by_answer ON semantic_cache (embedding_model, dimensions, exact_key);
CREATE INDEX IF NOT EXISTS semantic_cache_by_space ON semantic_cache (embedding_model, dimensions, id);
CREATE INDEX IF NOT EXISTS semantic_cache_by_age ON semantic_cache (created_at);
`;

export const POSTGRES_SEMANTIC_MIGRATION = `
CREATE TABLE semantic_cache (
  id              bigserial PRIMARY KEY,
  embedding_model text      NOT NULL,
  dimensions      integer   NOT NULL,
  vector          bytea     NOT NULL,
  prompt_text     text      NOT NULL,
  exact_key       text      NOT NULL,
  model           text      NOT NULL,
  scope_key       text      NOT NULL,
  created_at      bigint    NOT NULL
);
CREATE UNIQUE INDEX semantic_cache_by_answer ON semantic_cache (embedding_model, dimensions, exact_key);
CREATE INDEX semantic_cache_by_space ON semantic_cache (embedding_model, dimensions, id);
CREATE INDEX semantic_cache_by_age ON semantic_cache (created_at);`;

// One vector per answer and space: a second worker remembering the same answer adds nothing.
export const INSERT_SEMANTIC = `INSERT INTO semantic_cache (embedding_model, dimensions, vector, prompt_text, exact_key, model, scope_key, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (embedding_model, dimensions, exact_key) DO NOTHING RETURNING id`;
export const SELECT_SEMANTIC_SINCE = `SELECT id, embedding_model, dimensions, vector, prompt_text, exact_key, model, scope_key, created_at
  FROM semantic_cache WHERE embedding_model = ? AND dimensions = ? AND id > ? AND created_at >= ? ORDER BY id LIMIT ?`;
export const DELETE_SEMANTIC_BEFORE = 'DELETE FROM semantic_cache WHERE created_at < ?';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Float32 little-endian bytes of a vector. */
export function vectorBytes(v: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  const out = Buffer.alloc(v.length * 4);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
  return out;
}

/** A vector from its stored bytes (copied: a driver's buffer may be unaligned or reused). */
export function vectorFromBytes(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new Error(`a stored semantic-cache vector has ${bytes.byteLength} bytes, not a multiple of 4`);
  if (LITTLE_ENDIAN) return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

export function semanticInsertParams(e: NewSemanticEntry): unknown[] {
  if (e.vector.length !== e.dimensions) throw new Error(`semantic cache: a vector of ${e.vector.length} dimensions stored as ${e.dimensions}`);
  return [e.embeddingModel, e.dimensions, vectorBytes(e.vector), e.promptText, e.exactKey, e.model, e.scopeKey, e.createdAt];
}

export function toSemanticEntry(r: Row): SemanticEntry {
  return {
    id: num(r.id),
    embeddingModel: String(r.embedding_model),
    dimensions: num(r.dimensions),
    vector: vectorFromBytes(r.vector as Uint8Array),
    promptText: String(r.prompt_text),
    exactKey: String(r.exact_key),
    model: String(r.model),
    scopeKey: String(r.scope_key),
    createdAt: num(r.created_at),
  };
}
