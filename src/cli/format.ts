// How the CLI shows a run: a progress bar on a TTY, plain lines when piped, and the
// summary table at the end. Colours only on a TTY.
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import type { RunStatus } from '../domain/run-types.ts';

export const isTty = (): boolean => Boolean(process.stdout.isTTY);
const paint = (code: number) => (s: string): string => (isTty() && !process.env.NO_COLOR ? `\x1b[${code}m${s}\x1b[0m` : s);
export const bold = paint(1);
export const green = paint(32);
export const red = paint(31);
export const dim = paint(2);

export const usd = (n: number): string => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
export const int = (n: number): string => n.toLocaleString('en-US');

export interface ProgressView {
  update(s: RunStatus): void;
  stop(): void;
}

/** A bar that redraws on a TTY; a line every few seconds otherwise. */
export function progressView(): ProgressView {
  if (isTty()) {
    const bar = new cliProgress.SingleBar(
      { format: ' {bar} {percentage}% | {value}/{total} items | {state} | failed {failed} | {cost} | {rate} items/s', hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    const t0 = Date.now();
    return {
      update(s) {
        const done = s.counts.succeeded + s.counts.failed;
        const payload = { state: s.state, failed: s.counts.failed, cost: usd(s.costUsd.spent), rate: Math.round(done / Math.max(0.001, (Date.now() - t0) / 1000)) };
        if (!started) {
          bar.start(Math.max(1, s.counts.total), done, payload);
          started = true;
        }
        bar.setTotal(Math.max(1, s.counts.total));
        bar.update(done, payload);
      },
      stop: () => started && bar.stop(),
    };
  }
  let last = '';
  return {
    update(s) {
      const line = `${s.state}: ${int(s.counts.succeeded + s.counts.failed)}/${int(s.counts.total)} done, ${int(s.counts.failed)} failed, ${usd(s.costUsd.spent)}`;
      if (line !== last) console.log(line);
      last = line;
    },
    stop() {},
  };
}

export function summaryTable(s: RunStatus, wallMs: number): string {
  const done = s.counts.succeeded + s.counts.failed;
  const table = new Table({ style: { head: isTty() ? ['cyan'] : [], border: isTty() ? ['grey'] : [] } });
  table.push(
    { 'run': s.runId },
    { 'state': s.state === 'completed' ? green(s.state) : red(s.state) },
    { 'items ok': int(s.counts.succeeded) },
    { 'items failed': int(s.counts.failed) },
    { 'lines rejected': int(s.counts.rejected) },
    { 'items not done': int(s.counts.pending) },
    { 'tokens in / cached / out': `${int(s.tokens.prompt)} / ${int(s.tokens.cached)} / ${int(s.tokens.completion)}` },
    { 'cost': `${usd(s.costUsd.spent)} (estimate was ≤ ${usd(s.costUsd.estimate)})` },
    { 'wall time': `${(wallMs / 1000).toFixed(1)} s` },
    { 'items/s': (done / Math.max(0.001, wallMs / 1000)).toFixed(1) },
  );
  return table.toString();
}
