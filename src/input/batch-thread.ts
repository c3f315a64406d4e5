// The body of a preparing thread (a worker_threads Worker started by prepare-pool.ts):
// answers each batch of lines with its preparation, in the order asked. A preparation that
// throws is answered with its error, so the pool fails the way this thread would.
import { parentPort, workerData } from 'node:worker_threads';
import type { PrepareReply, PrepareRequest } from './prepare-pool.ts';

export function serveBatches<C, B>(prepare: (ctx: C, texts: readonly string[], firstLine: number) => B): void {
  const ctx = workerData as C;
  const port = parentPort!;
  port.on('message', ({ id, firstLine, texts }: PrepareRequest) => {
    let reply: PrepareReply<B>;
    try {
      reply = { id, lines: prepare(ctx, texts, firstLine) };
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      reply = { id, error: { name: err.name, message: err.message, stack: err.stack ?? '' } };
    }
    port.postMessage(reply);
  });
}
