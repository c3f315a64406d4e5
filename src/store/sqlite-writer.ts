// Result writes of the SQLite store, and a thread that runs the large ones. node:sqlite is
// synchronous: a collected batch's 50,000 row updates would hold the event loop while the
// next lines wait to be parsed. The thread has its own connection to the same file (WAL:
// one writer at a time, busy_timeout waits its turn), so the caller parses the next batch
// while the thread commits this one. A write resolves once its transaction is committed.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ResultField } from './result-row.ts';

/** One result's UPDATE arguments: resultFields(r), updated_at, run_id, custom_id. */
export type ResultArgs = ResultField[];
/** One retry's UPDATE arguments: attempts, cost, prompt, cached, completion and reasoning tokens, error, mode, updated_at, run_id, custom_id (retryArgs). */
export type RetryArgs = ResultField[];

const UPDATE_RESULT = `
  UPDATE items SET status = ?, attempts = ?, model = ?, mode = ?, request_id = ?, status_code = ?, response = ?, error = ?,
    prompt_tokens = ? + retry_prompt_tokens, cached_tokens = ? + retry_cached_tokens, completion_tokens = ? + retry_completion_tokens,
    reasoning_tokens = ? + retry_reasoning_tokens, cost_usd = ? + retry_cost_usd, cache_marker = ?, saved_usd = ?, prompt_cache_saved_usd = ?, latency_ms = ?, rate_limited = ?, updated_at = ?
  WHERE run_id = ? AND custom_id = ? AND status <> 'succeeded'`;
// max(): recording the same retry twice (a re-collected batch) changes nothing; its discarded
// answer's cost and tokens are added only while the stored attempts are below the retry's (SET
// reads the old row). ?1 is the retry's attempts; ?2..?6 its cost and tokens.
const added = (column: string, n: number): string => `${column} = ${column} + CASE WHEN attempts < ?1 THEN ?${n} ELSE 0 END`;
const UPDATE_RETRY = `UPDATE items SET ${[
  added('cost_usd', 2), added('retry_cost_usd', 2),
  added('prompt_tokens', 3), added('retry_prompt_tokens', 3), added('cached_tokens', 4), added('retry_cached_tokens', 4),
  added('completion_tokens', 5), added('retry_completion_tokens', 5), added('reasoning_tokens', 6), added('retry_reasoning_tokens', 6),
].join(', ')},
    attempts = max(attempts, ?1), error = ?7, mode = ?8, updated_at = ?9 WHERE run_id = ?10 AND custom_id = ?11 AND status = 'pending'`;

/** The UPDATE_RETRY arguments of one retry. */
export function retryArgs(r: { attempts: number; costUsd?: number; usage?: { prompt: number; cached: number; completion: number; reasoning: number }; error: unknown; mode: string }, now: string, runId: string, customId: string): RetryArgs {
  const u = r.usage;
  return [r.attempts, r.costUsd ?? 0, u?.prompt ?? 0, u?.cached ?? 0, u?.completion ?? 0, u?.reasoning ?? 0, JSON.stringify(r.error), r.mode, now, runId, customId];
}

/** The prepared result writes of one connection; each call is one transaction, applied in order. */
export class ResultStatements {
  private readonly db: DatabaseSync;
  private readonly result: StatementSync;
  private readonly retry: StatementSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    this.result = db.prepare(UPDATE_RESULT);
    this.retry = db.prepare(UPDATE_RETRY);
  }

  results(rows: ResultArgs[]): void {
    this.inTransaction(this.result, rows);
  }

  retries(rows: RetryArgs[]): void {
    this.inTransaction(this.retry, rows);
  }

  private inTransaction(st: StatementSync, rows: ResultField[][]): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const args of rows) st.run(...args);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }
}

type Request = { id: number; kind: 'results' | 'retries'; rows: ResultField[][] };
type Reply = { id: number; error?: string };

/** The caller's side: starts the thread on the first write, stops it on close(). */
export class SqliteWriterThread {
  private readonly path: string;
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(path: string) {
    this.path = path;
  }

  write(kind: Request['kind'], rows: ResultField[][]): Promise<void> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Referenced only while a write is pending: an idle thread never keeps the process alive.
      worker.ref();
      worker.postMessage({ id, kind, rows } satisfies Request);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(new URL(import.meta.url), { workerData: { sqliteWriter: this.path } });
    worker.unref();
    const failAll = (e: Error): void => {
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
      if (this.worker === worker) this.worker = undefined;
    };
    worker.on('message', (m: Reply) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) worker.unref();
      if (m.error === undefined) w?.resolve();
      else w?.reject(new Error(`item store ${this.path}: ${m.error}`));
    });
    worker.on('error', (e) => failAll(e));
    worker.on('exit', (code) => failAll(new Error(`item store ${this.path}: the writer thread exited (code ${code})`)));
    return worker;
  }
}

// The thread itself: the same connection settings as the store's own (sqlite.ts).
if (!isMainThread && (workerData as { sqliteWriter?: string } | null)?.sqliteWriter) {
  const db = new DatabaseSync((workerData as { sqliteWriter: string }).sqliteWriter);
  db.exec('PRAGMA cache_size = -65536; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = 4000;');
  const statements = new ResultStatements(db);
  parentPort!.on('message', (m: Request) => {
    try {
      if (m.kind === 'results') statements.results(m.rows);
      else statements.retries(m.rows);
      parentPort!.postMessage({ id: m.id } satisfies Reply);
    } catch (e) {
      parentPort!.postMessage({ id: m.id, error: (e as Error).message } satisfies Reply);
    }
  });
}
