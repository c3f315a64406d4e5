// Line preparation (prepare-line.ts) on worker threads, so that staging uses a second core:
// the threads validate and count tokens while the main thread reads the file and writes to
// the store. Batches come back in input order; a bounded number are in flight, so memory
// stays flat whatever the file size. The threads are terminated however staging ends.
// The pool is generic over what a batch's preparation is (`BatchPreparer`): staging
// prepares items for the store, `estimate` counts lines for its figures (estimate-line.ts).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { LineContext, PreparedLine } from './prepare-line.ts';

export interface PrepareRequest {
  id: number;
  firstLine: number;
  texts: string[];
}

export type PrepareReply<B = PreparedLine[]> = { id: number; lines: B } | { id: number; error: { name: string; message: string; stack: string } };

/** What the threads do with a batch of consecutive lines: the same function on a thread (entry) and on this thread (load). */
export interface BatchPreparer<C, B> {
  /** The thread's entry module: answers PrepareRequests with PrepareReply<B> (see serveBatches in batch-thread.ts). */
  entry: URL;
  /** The function itself, for this thread's share of the batches. */
  load(): Promise<(ctx: C, texts: readonly string[], firstLine: number) => B>;
}

/** Staging's preparation: validated items for the store (prepare-line.ts). */
export const stagingPreparer: BatchPreparer<LineContext, PreparedLine[]> = {
  entry: new URL('./stage-thread.ts', import.meta.url),
  load: async () => (await import('./prepare-line.ts')).prepareLines,
};

export interface PrepareOptions {
  /** Staging threads (0: prepare on this thread); default one per core beyond the main thread's, at least 1, at most 4. */
  threads?: number;
  /** Lines per message to a thread. */
  batchLines?: number;
  /** Batches in flight per thread: enough that a thread never waits while the store is written. */
  depth?: number;
  /** Whether this thread prepares batches too while the staging threads are behind; default true. */
  help?: boolean;
  /** The thread's entry module (tests start failing ones). */
  entry?: URL;
}

export const defaultThreads = (): number => Math.max(1, Math.min(4, availableParallelism() - 1));

type Task<B> = { resolve: (lines: B) => void; reject: (e: Error) => void };

let running = 0;
/** Staging threads started and not yet exited, in this process (the tests check none is left behind). */
export const runningStageThreads = (): number => running;

/** One staging thread and the batches it holds, answered in the order they were sent. */
class StageThread<C, B> {
  private readonly worker: Worker;
  private readonly tasks = new Map<number, Task<B>>();
  private failure: Error | undefined;
  private closing = false;

  /** `onAnswer` hears each answered batch: the thread has room for another. */
  constructor(ctx: C, entry: URL, onAnswer: () => void) {
    this.worker = new Worker(entry, { workerData: ctx });
    running++;
    this.worker.on('message', (reply: PrepareReply<B>) => {
      const task = this.tasks.get(reply.id);
      if (!task) return;
      this.tasks.delete(reply.id);
      if ('lines' in reply) task.resolve(reply.lines);
      else {
        const err = new Error(reply.error.message);
        err.name = reply.error.name;
        err.stack = reply.error.stack;
        task.reject(err);
      }
      onAnswer();
    });
    this.worker.on('error', (e) => this.fail(new Error(`the staging thread failed: ${e.message}`, { cause: e })));
    this.worker.on('messageerror', (e) => this.fail(new Error(`the staging thread sent an unreadable message: ${e.message}`, { cause: e })));
    this.worker.on('exit', (code) => {
      running--;
      if (!this.closing) this.fail(new Error(`the staging thread exited unexpectedly (exit code ${code})`));
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const task of this.tasks.values()) task.reject(this.failure);
    this.tasks.clear();
  }

  /** Batches sent and not answered yet. */
  get holding(): number {
    return this.tasks.size;
  }

  prepare(req: PrepareRequest): Promise<B> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.tasks.set(req.id, { resolve, reject });
      this.worker.postMessage(req);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}

/** Consecutive lines in batches of at most `size`, each with its first line's number. */
export async function* lineBatches(source: AsyncIterable<{ lineNumber: number; text: string }>, size: number): AsyncGenerator<{ firstLine: number; texts: string[] }> {
  let texts: string[] = [];
  let firstLine = 0;
  for await (const { lineNumber, text } of source) {
    if (texts.length === 0) firstLine = lineNumber;
    texts.push(text);
    if (texts.length >= size) {
      yield { firstLine, texts };
      texts = [];
    }
  }
  if (texts.length > 0) yield { firstLine, texts };
}

/**
 * The lines of `source`, prepared, in batches in input order: on staging threads, or on this
 * thread with `threads: 0`. The lines must be consecutive (numbered n, n+1, …), as readLines
 * gives them. Stopping the iteration (a store error, say) terminates the threads and closes
 * the source.
 */
export function preparedBatches(
  source: AsyncIterable<{ lineNumber: number; text: string }>,
  ctx: LineContext,
  opts: PrepareOptions = {},
): AsyncGenerator<PreparedLine[]> {
  return pooledBatches(source, ctx, stagingPreparer, opts);
}

/** The batches of `source`, each prepared by `preparer`, in input order (as preparedBatches, for any preparation). */
export async function* pooledBatches<C, B>(
  source: AsyncIterable<{ lineNumber: number; text: string }>,
  ctx: C,
  preparer: BatchPreparer<C, B>,
  opts: PrepareOptions = {},
): AsyncGenerator<B> {
  const batches = lineBatches(source, opts.batchLines ?? 500);
  const count = opts.threads ?? defaultThreads();
  if (count === 0) {
    const prepare = await preparer.load();
    for await (const { firstLine, texts } of batches) yield prepare(ctx, texts, firstLine);
    return;
  }
  const depth = opts.depth ?? 4;
  // Batches held here at most: each thread's `depth`, and as many again (this thread's own, and answers queued behind an older batch).
  const cap = 2 * depth * (count + 1);
  const queue: { result: Promise<B>; done: boolean }[] = [];
  const track = (result: Promise<B>): void => {
    const entry = { result, done: false };
    // Awaited in turn below; until then a failure must not count as unhandled.
    result.then(() => (entry.done = true), () => (entry.done = true));
    queue.push(entry);
  };
  let more = true;
  let sent = 0;
  // Reads are chained: each batch is read, then queued, in input order.
  let chain: Promise<void> = Promise.resolve();
  let queued = 0;
  let readError: { e: unknown } | undefined;
  let inline: ((ctx: C, texts: readonly string[], firstLine: number) => B) | undefined;
  const withRoom = (): StageThread<C, B> | undefined => threads.find((t) => t.holding < depth);
  /** In turn: reads the next batch for a thread with room, or (`here`) for this thread when none has. */
  const advance = (here: boolean): Promise<void> => {
    queued++;
    const step = chain.then(async () => {
      queued--;
      if (!more || queue.length >= cap || (!here && withRoom() === undefined)) return;
      const next = await batches.next();
      if (next.done) {
        more = false;
        return;
      }
      const { firstLine, texts } = next.value;
      const thread = withRoom();
      if (thread) track(thread.prepare({ id: sent++, firstLine, texts }));
      else {
        try {
          track(Promise.resolve(inline!(ctx, texts, firstLine)));
        } catch (e) {
          track(Promise.reject(e as Error));
        }
      }
    });
    // A read error ends the reading, and staging with it.
    chain = step.catch((e: unknown) => {
      more = false;
      readError ??= { e };
    });
    return step;
  };
  // A thread that answers gets its next batch at once, even while the consumer awaits the store.
  const threads = Array.from({ length: count }, () => new StageThread<C, B>(ctx, opts.entry ?? preparer.entry, () => void advance(false).catch(() => {})));
  try {
    // Loaded while the threads start; without help this thread never needs the tokenizer's tables.
    if (opts.help ?? true) inline = await preparer.load();
    for (;;) {
      const room = threads.reduce((n, t) => n + Math.max(0, depth - t.holding), 0);
      for (let i = queued; i < room; i++) void advance(false).catch(() => {});
      // Rather than wait for the oldest batch, this thread prepares the next one itself (queued
      // in order): both cores work while the store's writes leave time over.
      while (inline && more && queue.length > 0 && !queue[0]!.done && queue.length < cap) await advance(true);
      await advance(false);
      if (readError) throw readError.e;
      const head = queue.shift();
      if (head === undefined) {
        if (more) continue;
        return;
      }
      yield await head.result;
    }
  } finally {
    more = false;
    await Promise.all([batches.return(undefined), ...threads.map((t) => t.close())]);
  }
}
