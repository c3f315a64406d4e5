// The run's sample phase (--sample N) and approval (--approve): before the main phase, one
// piece of work (a seeded random selection of N items) runs realtime through the run's own
// dispatch loop; sampleStats measures it and estimates the whole run's cost; with --approve
// the run then waits in awaiting_approval for `approve` or `reject`. The phase lives in
// RunProgress.phase ('sample' → 'approval' → 'chunks'), so it survives continue-as-new.
import { condition } from '@temporalio/workflow';
import type { AlertEvent } from '../domain/alerts.ts';
import type { RunConfig, RunState } from '../domain/run-types.ts';
import type { runActivities } from './run-activities.ts';
import type { QueuedWork, RunProgress } from './run-status.ts';
import type { Room } from './run-work.ts';

/** What the sample phase sees of the run. */
export interface SampleHost {
  readonly config: RunConfig;
  /** The run's progress now. */
  progress(): RunProgress;
  /** The run's sampleStats activity. */
  readonly act: Pick<ReturnType<typeof runActivities>, 'sampleStats'>;
  /** The run's dispatch loop: `take` hands out the next piece of work for the room there is. */
  dispatchLoop(take: (room: Room) => QueuedWork | undefined, mayContinueAsNew: boolean): Promise<void>;
  /** Cancelled, rejected, or stopped for good (insufficient_quota). */
  stopped(): boolean;
  setState(state: RunState): void;
  alert(event: AlertEvent, detail?: string): Promise<void>;
  refresh(): void;
}

/** The sample: one piece of work (the seeded random selection), measured, then approval. */
export async function sampleAndApprove(host: SampleHost): Promise<void> {
  const { config } = host;
  const p = host.progress();
  const size = Math.min(config.sampleSize!, p.stage.accepted);
  // The seed comes from the workflow's deterministic random: the same on every replay.
  // The sample runs realtime whatever the mode: it measures in minutes, not hours.
  const sample: QueuedWork = { chunkIndex: -1, selection: { sampleSeed: Math.floor(Math.random() * 2 ** 31), sampleSize: size }, route: 'realtime', dispatches: 0 };
  let queued: QueuedWork | undefined = sample;
  host.setState('sampling');
  await host.dispatchLoop((room) => {
    if (!room.realtime) return undefined;
    const w = queued;
    queued = undefined;
    return w ?? p.requeued.shift();
  }, false);
  if (host.stopped()) return;
  const done = p.succeeded + p.failed;
  // The sample ran realtime; the rest of a batch or hybrid run is partly at the Batch discount.
  const plan = p.plan;
  const planned = plan ? plan.realtimeItems + plan.batchItems : 0;
  const priceFactor = plan && planned > 0 ? (plan.realtimeItems + plan.batchItems * plan.batchDiscount) / planned : 1;
  p.sample = await host.act.sampleStats({ config, selection: sample.selection, remainingItems: p.stage.accepted - done, spentUsd: p.costUsd, priceFactor });
  p.phase = config.approve ? 'approval' : 'chunks';
  host.refresh();
}

/** --approve: the run waits in awaiting_approval (alerting once) until approve, reject or cancel. */
export async function awaitApproval(host: SampleHost): Promise<void> {
  const p = host.progress();
  const op = p.operator;
  if (!op.approved && !op.rejected && !op.cancelled) {
    host.setState('awaiting_approval');
    const s = p.sample;
    await host.alert('awaiting_approval', s ? `sample of ${s.measured}: $${s.meanCostUsd.toFixed(6)}/item; total ≈ $${s.totalUsd.estimate.toFixed(2)} (90%: $${s.totalUsd.low.toFixed(2)}–$${s.totalUsd.high.toFixed(2)})` : undefined);
    await condition(() => op.approved || op.rejected || op.cancelled);
  }
  if (op.approved && !op.rejected && !op.cancelled) p.phase = 'chunks';
}
