// Bootstrap: checks the Node version and makes sure a Temporal CLI is available
// ($TEMPORAL_CLI, PATH, the cache under $HOME, or a `go install` into that cache).
// Run it as `npm run setup`; `npm run demo` and `llm-batch dev` do the same on their own.
import { ensureTemporalCli } from '../src/dev/temporal-cli.ts';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(`Node ${process.version} is too old: run this through npm (npm run setup), which uses the Node 24 that npm ci installed.`);
  process.exit(2);
}
console.log(`node ${process.version}`);
try {
  const cli = await ensureTemporalCli((m) => console.log(m));
  console.log(`temporal CLI: ${cli.path} (${cli.source})`);
} catch (e) {
  console.error((e as Error).message);
  process.exit(3);
}
