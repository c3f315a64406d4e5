// The run's quality gate (`--spot-check N`): at a checkpoint, with nothing in flight, the
// spotCheck activity checks a seeded sample of the items finished since the last checkpoint.
// At or above --min-pass-rate the run goes on; below it the run holds in `quality_hold`,
// alerts with the failing examples, and waits for `approve` (go on) or `reject` (stop, as
// after a sample). Runs without windows take a checkpoint every --spot-check-every items
// (due()); a windowed run calls checkpoint() at each window's end. State lives in
// RunProgress.quality, so it survives continue-as-new.
import { condition, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { AlertEvent } from '../domain/alerts.ts';
import type { RunConfig, RunState } from '../domain/run-types.ts';
import { taskPriority } from '../domain/priority.ts';
import { addCheckpoint, checkpointDue, checkpointSeed, gateDecision, holdDetail, newQualityProgress, type CheckpointResult, type QualityProgress } from '../domain/spot-check.ts';
import type { RunProgress } from './run-status.ts';

/** What the gate sees of the run. */
export interface QualityHost {
  readonly config: RunConfig;
  /** The run's progress now (it is replaced as the run goes on). */
  progress(): RunProgress;
  setState(state: RunState): void;
  alert(event: AlertEvent, detail?: string): Promise<void>;
  refresh(): void;
}

/** The spotCheck activity: judge calls may wait on the rate limiter and retry. */
function qualityActivities(config: RunConfig) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '5 minutes',
    retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput', 'UnknownModel'] },
    priority: taskPriority(config),
  });
}

export class RunQuality {
  private readonly act: ReturnType<typeof qualityActivities>;
  private readonly host: QualityHost;

  constructor(host: QualityHost) {
    this.host = host;
    this.act = qualityActivities(host.config);
  }

  /** The run's spot-check state, created on first use (its seed drawn from the workflow's deterministic random). */
  private state(): QualityProgress {
    const p = this.host.progress();
    p.quality ??= newQualityProgress(this.host.config.spotCheck?.seed ?? Math.floor(Math.random() * 2 ** 31));
    return p.quality;
  }

  /** Runs without windows: --spot-check-every items finished since the last checkpoint, or a hold not yet answered (after continue-as-new). */
  due(): boolean {
    const cfg = this.host.config.spotCheck;
    if (!cfg) return false;
    const p = this.host.progress();
    if (p.quality?.holding !== undefined) return true;
    return checkpointDue(cfg, p.quality ?? newQualityProgress(0), p.succeeded + p.failed);
  }

  /**
   * Takes a checkpoint (or resumes the hold of one) and gates on it. Call it with nothing in
   * flight, so the sample is of settled items. Returns true when the run may dispatch again:
   * the checkpoint passed, or an operator approved it; false when rejected or cancelled.
   */
  async checkpoint(): Promise<boolean> {
    const { config } = this.host;
    const cfg = config.spotCheck;
    if (!cfg) return true;
    const p = this.host.progress();
    const q = this.state();
    if (q.holding === undefined) {
      const index = q.checkpoints + 1;
      const out = await this.act.spotCheck({ config, checkpoint: index, seed: checkpointSeed(q.seed, index) });
      q.checkpoints = index;
      q.doneAtLastCheckpoint = p.succeeded + p.failed;
      // The judge's calls are spend like any other: they count against the budget.
      q.judgeCostUsd += out.judgeCostUsd;
      p.costUsd += out.judgeCostUsd;
      const gate = gateDecision(out.passed, out.checked, cfg.minPassRate);
      const result: CheckpointResult = {
        index, checked: out.checked, passed: out.passed, passRate: gate.passRate, failures: out.failures,
        judgeCostUsd: Math.round(out.judgeCostUsd * 1e9) / 1e9, at: new Date().toISOString(), outcome: gate.outcome,
      };
      addCheckpoint(q, result);
      log.info(`spot-check ${index}: ${out.passed}/${out.checked} passed (${gate.passRate}); gate ${cfg.minPassRate}: ${gate.outcome}`);
      if (gate.outcome === 'pass') {
        this.host.refresh();
        return true;
      }
      q.holding = index;
      q.approved = false;
      this.host.setState('quality_hold');
      await this.host.alert('quality_hold', holdDetail(result, cfg.minPassRate, config.runId));
    } else {
      this.host.setState('quality_hold');
    }
    const op = p.operator;
    await condition(() => q.approved === true || op.rejected || op.cancelled);
    const held = q.results.find((r) => r.index === q.holding);
    const goOn = q.approved === true && !op.rejected && !op.cancelled;
    if (held) held.outcome = goOn ? 'approved' : op.rejected ? 'rejected' : held.outcome;
    delete q.holding;
    delete q.approved;
    if (goOn) this.host.setState('running');
    else this.host.refresh();
    return goOn;
  }
}
