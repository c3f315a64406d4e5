// The staging thread's entry point (a worker_threads Worker started by prepare-pool.ts):
// prepares batches of lines (validation, exact token counts, serialized bodies) while the
// main thread writes the previous batches to the store. Answers each batch in order; a line
// that makes preparation throw fails staging as it would on the main thread, with its message.
import { prepareLines } from './prepare-line.ts';
import { serveBatches } from './batch-thread.ts';

serveBatches(prepareLines);
