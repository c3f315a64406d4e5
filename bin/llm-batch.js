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
await import('../src/cli/main.ts');
