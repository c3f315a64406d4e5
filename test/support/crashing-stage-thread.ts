// A staging thread that fails on its first batch, for prepare-pool's crash tests: "exit"
// exits with code 3, "throw" throws outside any handler, "reply-error" answers with the error
// a line's preparation threw (as stage-thread.ts does).
import { parentPort } from 'node:worker_threads';
import type { PrepareReply, PrepareRequest } from '../../src/input/prepare-pool.ts';

parentPort!.on('message', ({ id, texts }: PrepareRequest) => {
  if (texts[0] === 'exit') process.exit(3);
  if (texts[0] === 'reply-error') {
    const reply: PrepareReply = { id, error: { name: 'RangeError', message: 'line 1: cannot prepare this line', stack: '' } };
    parentPort!.postMessage(reply);
    return;
  }
  setTimeout(() => {
    throw new Error('boom');
  });
});
