// The staging thread's entry point (a worker_threads Worker started by prepare-pool.ts):
// prepares batches of lines (validation, exact token counts, serialized bodies) while the
// main thread writes the previous batches to the store. Answers each batch in order.
import { parentPort, workerData } from 'node:worker_threads';
import { prepareLines, type LineContext } from './prepare-line.ts';
import type { PrepareReply, PrepareRequest } from './prepare-pool.ts';

const ctx = workerData as LineContext;
const port = parentPort!;

port.on('message', ({ id, firstLine, texts }: PrepareRequest) => {
  let reply: PrepareReply;
  try {
    reply = { id, lines: prepareLines(ctx, texts, firstLine) };
  } catch (e) {
    // A line that makes preparation throw fails staging as it would on the main thread, with its message.
    const err = e instanceof Error ? e : new Error(String(e));
    reply = { id, error: { name: err.name, message: err.message, stack: err.stack ?? '' } };
  }
  port.postMessage(reply);
});
