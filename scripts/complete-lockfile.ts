// Completes package-lock.json with the platform-specific optional packages that the
// registry reachable from our build machines does not serve (for example @swc/core's
// macOS and Windows binaries). npm leaves them out of the lock there, and `npm ci` then
// refuses the lock as out of sync. Each entry gets its os/cpu/libc, so npm skips it on
// other platforms and fetches it by version where it applies.
// Run after any `npm install` that rewrites the lock: node scripts/complete-lockfile.ts
import { readFileSync, writeFileSync } from 'node:fs';

type Entry = { version?: string; optionalDependencies?: Record<string, string>; [k: string]: unknown };
const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8')) as { packages: Record<string, Entry> };

/** `@swc/core-linux-arm64-musl` → os linux, cpu arm64, libc musl. */
function platformOf(name: string): { os: string; cpu: string; libc?: string } | undefined {
  const m = /-(darwin|linux|win32|freebsd|android)-(x64|arm64|arm|ia32|ppc64|s390x|riscv64)(?:-(gnu|gnueabihf|musl|msvc))?$/.exec(name);
  if (!m) return undefined;
  const libc = m[3] === 'musl' ? 'musl' : m[3]?.startsWith('gnu') ? 'glibc' : undefined;
  return libc ? { os: m[1]!, cpu: m[2]!, libc } : { os: m[1]!, cpu: m[2]! };
}

let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const depKey = `${key ? `${key}/` : ''}node_modules/${dep}`.replace(/^\//, '');
    const hoisted = `node_modules/${dep}`;
    if (lock.packages[depKey] || lock.packages[hoisted]) continue;
    const p = platformOf(dep);
    if (!p) continue;
    lock.packages[hoisted] = { version, cpu: [p.cpu], ...(p.libc ? { libc: [p.libc] } : {}), optional: true, os: [p.os] };
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
lock.packages = sorted;
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} platform-specific optional entr${added === 1 ? 'y' : 'ies'}`);
