// The estimate's counting thread (a worker_threads Worker started by prepare-pool.ts):
// validates and counts batches of lines (estimate-line.ts) while the main thread sums them.
import { estimateLines } from './estimate-line.ts';
import { serveBatches } from './batch-thread.ts';

serveBatches(estimateLines);
