// Test-only fault injection: kills this worker process for real at a named point of the
// Batch API activities and of a packed call (--pack), so the integration tests can prove a crash anywhere loses nothing
// and creates no second batch. Inert unless LLM_BATCH_CRASH_AT names the point; the
// marker file (LLM_BATCH_CRASH_MARKER) makes it fire once, so the restarted worker goes on.
import { existsSync, writeFileSync } from 'node:fs';

export type CrashPoint = 'submit:after-upload' | 'submit:after-create' | 'collect:mid' | 'pack:after-call';

export function crashPoint(point: CrashPoint): void {
  if (process.env.LLM_BATCH_CRASH_AT !== point) return;
  const marker = process.env.LLM_BATCH_CRASH_MARKER;
  if (!marker || existsSync(marker)) return;
  writeFileSync(marker, `${point} ${new Date().toISOString()}\n`);
  process.kill(process.pid, 'SIGKILL');
}
