// Everything the worker's workflow bundle registers.
export { runWorkflow } from './run.ts';
export { chunkWorkflow } from './chunk.ts';
