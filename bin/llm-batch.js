#!/usr/bin/env node
// Entry point of the `llm-batch` command. Plain JavaScript so that an old Node can read it
// and hand over to the project's Node 24 (the `node` dev dependency) before any TypeScript loads.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  const bundled = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(bundled)) {
    console.error(`llm-batch needs Node.js 22 or newer (this is ${process.version}). Run \`npm ci\` in the repository to get Node 24, or install Node 24 LTS.`);
    process.exit(2);
  }
  const r = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

// `llm-batch worker` is long-lived. Left alone, V8 sizes its heap for the machine: on 24 GiB a
// 64 MiB semi-space (128 MiB of young generation) and an old generation that may grow to 4 GiB,
// filled with garbage before it is collected, so a worker whose live heap is ~100 MiB sat at
// 700+ MiB of RSS. Bounded here, it stays near its live set. process.execve replaces this
// process in place (same pid: a SIGKILL still reaches the worker itself, not a wrapper).
// LLM_BATCH_WORKER_HEAP_MIB sets the old generation's cap; a --max-old-space-size in
// NODE_OPTIONS or on node's own command line wins over all of it.
if (process.argv[2] === 'worker' && typeof process.execve === 'function') {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith('--max-old-space-size'));
  if (!given) {
    const oldMiB = Number(process.env.LLM_BATCH_WORKER_HEAP_MIB) > 0 ? Number(process.env.LLM_BATCH_WORKER_HEAP_MIB) : 384;
    const flags = ['--max-semi-space-size=32', `--max-old-space-size=${oldMiB}`];
    process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], process.env);
  }
}
await import('../src/cli/main.ts');
