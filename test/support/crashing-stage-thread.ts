// A staging thread that dies on its first batch, for prepare-pool's crash tests: "exit"
// exits with code 3, "throw" throws outside any handler.
import { parentPort } from 'node:worker_threads';
import type { PrepareRequest } from '../../src/input/prepare-pool.ts';

parentPort!.on('message', ({ texts }: PrepareRequest) => {
  if (texts[0] === 'exit') process.exit(3);
  setTimeout(() => {
    throw new Error('boom');
  });
});
