// runWorkflow: stage the input, optionally run and measure a sample and wait for approval,
// then dispatch a sliding window of chunk child workflows under the run's controls:
// - budget: each dispatch reserves its estimate; it goes only if spent + reserved + it ≤ budget;
// - circuit breaker: a chunk finding the provider down opens it for the whole run, which
//   waits on durable timers and probes before resuming;
// - operator signals: pause, resume, cancel, raiseBudget, setBudget, approve, reject, probe.
// Chunks stopped early leave their items pending and are dispatched again. The run
// aggregates small summaries, exports the results, and continues as new as history grows.
// Its concepts live beside it: run-sample, run-circuit, run-windows, run-quality (phases and
// gates), run-work (the queue), run-signals, run-status, run-activities.
import {
  ApplicationFailure,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  log,
  ParentClosePolicy,
  setCurrentDetails,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { ChunkStopSignal, ChunkSummary, ItemTotals, Route, RunConfig, RunState, RunStatus, StageResult } from '../domain/run-types.ts';
import { emptyTokens, notDoneFor, stopEndsBatch } from '../domain/run-types.ts';
import { chunkCount } from '../domain/chunk-plan.ts';
import { budgetState, decideDispatch, reservedOutputTokens, shouldSwitchModel } from '../domain/budget.ts';
import { alertPayload, type AlertEvent } from '../domain/alerts.ts';
import { priorityOf, taskPriority } from '../domain/priority.ts';
import { chunkWorkflow } from './chunk.ts';
import * as msg from './messages.ts';
import { LlmBatchBudgetUsd, LlmBatchModel, LlmBatchProgress, LlmBatchSpentUsd, LlmBatchState } from './search-attributes.ts';
import { addDelta, alertSummaryOf, currentDetails, fillStatus, ledgerOf, newProgress, type QueuedWork, type RunProgress } from './run-status.ts';
import { runActivities } from './run-activities.ts';
import { registerRunHandlers } from './run-signals.ts';
import { RunWindows, type WindowCharge, type WindowSizing } from './run-windows.ts';
import { RunQuality } from './run-quality.ts';
import { RunCircuit } from './run-circuit.ts';
import { awaitApproval, sampleAndApprove, type SampleHost } from './run-sample.ts';
import { chunkInputOf, nextChunkWork, routeNow, workSummary, type Room } from './run-work.ts';

export type { RunProgress } from './run-status.ts';

export interface RunInput {
  config: RunConfig;
  progress?: RunProgress;
  /**
   * The input as the CLI already staged it into a shared store (PostgreSQL), when the
   * workers cannot read the file: the run skips its own staging.
   */
  staged?: StageResult;
}

/** One dispatch in flight. */
interface InFlight {
  work: QueuedWork;
  reserveUsd: number;
  before: ItemTotals;
  handle: ChildWorkflowHandle<typeof chunkWorkflow>;
  stopSent?: ChunkStopSignal;
  /** --window: what it holds of the window it was dispatched in. */
  window?: WindowCharge;
}

export async function runWorkflow(input: RunInput): Promise<RunStatus> {
  const run = new Run(input);
  try {
    return await run.execute();
  } catch (e) {
    if (e instanceof ContinueAsNew || isCancellation(e)) throw e;
    // Only invalid configuration or a bug ends here: say which, in the status and the failure.
    const cause = (e as { cause?: Error }).cause ?? (e as Error);
    run.status.error = cause.message;
    run.setState('failed');
    await run.alert('failed', cause.message);
    await run.alertsSent();
    throw ApplicationFailure.nonRetryable(`run ${input.config.runId} failed: ${cause.message}`, (cause as { type?: string }).type ?? 'RunFailed');
  }
}

class Run {
  readonly config: RunConfig;
  readonly status: RunStatus;
  private readonly act: ReturnType<typeof runActivities>;
  private p: RunProgress;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly pendingAlerts: Promise<void>[] = [];
  /** Bumped by every signal and every chunk result: waits end on a change, then re-decide. */
  private version = 0;
  private childFailure: unknown;
  private totalChunks = 0;
  /** The circuit breaker: opened by a chunk that finds the provider down. */
  private readonly circuit: RunCircuit;
  /** A first run (not a continuation): it stages the input. */
  private readonly fresh: boolean;
  private readonly staged: StageResult | undefined;
  /** --window: the run's windows (undefined without it). */
  private readonly windows: RunWindows | undefined;
  /** --spot-check: the quality gate at each checkpoint. */
  readonly quality: RunQuality;

  constructor(input: RunInput) {
    this.config = input.config;
    this.act = runActivities(input.config);
    const now = new Date().toISOString();
    this.fresh = input.progress === undefined;
    this.staged = input.staged;
    this.p = input.progress ?? newProgress(input.config, now);
    this.status = {
      runId: this.config.runId,
      state: this.fresh ? 'staging' : 'running',
      priority: priorityOf(this.config),
      counts: { total: 0, succeeded: 0, failed: 0, rejected: 0, pending: 0 },
      costUsd: { spent: 0, reserved: 0, budget: null, overshoot: 0, estimateTotal: 0, upperBound: 0 },
      budgetState: 'none',
      circuit: { state: 'closed', openings: 0, probes: 0 },
      tokens: emptyTokens(),
      chunks: { total: 0, done: 0, inFlight: [] },
      startedAt: this.p.startedAt,
      updatedAt: now,
    };
    registerRunHandlers({
      config: this.config,
      status: this.status,
      progress: () => this.p,
      changed: () => {
        this.version++;
        this.refresh();
      },
    });
    this.windows = RunWindows.of(this.config, {
      progress: () => this.p,
      charges: () => [...this.inFlight.values()].map((f) => f.window),
      setState: (state) => this.setState(state),
      waitForChange: (until, timeoutMs) => this.waitForChange(until, timeoutMs),
      windowGate: () => this.quality.checkpoint(),
    });
    this.quality = new RunQuality({ config: this.config, progress: () => this.p, setState: (s) => this.setState(s), alert: (e, d) => this.alert(e, d), refresh: () => this.refresh() });
    this.circuit = new RunCircuit({
      ...this.hostBase(),
      realtimeInFlight: () => this.inFlightOn('realtime'),
      childFailed: () => this.childFailure !== undefined,
      stopInFlight: (reason) => this.stopInFlight(reason),
    });
  }

  /** What every concept moved out of the run (circuit, sample) sees of it. */
  private hostBase() {
    return { config: this.config, act: this.act, progress: () => this.p, stopped: () => this.stopped(), setState: (s: RunState) => this.setState(s), alert: (e: AlertEvent, d?: string) => this.alert(e, d), refresh: () => this.refresh() };
  }

  /** What the sample phase (run-sample.ts) sees of the run. */
  private sampleHost(): SampleHost {
    return { ...this.hostBase(), dispatchLoop: (take, mayContinueAsNew) => this.dispatchLoop(take, mayContinueAsNew) };
  }

  /** Ends when anything changed (a signal, a chunk result), or when `until` holds, or after `timeoutMs`. */
  private async waitForChange(until: () => boolean = () => false, timeoutMs?: number): Promise<void> {
    const seen = this.version;
    const cond = (): boolean => this.version !== seen || until() || this.childFailure !== undefined;
    // A pending --deadline ends any wait, so the loop can act on it.
    const { p } = this;
    const toDeadline = p.deadlineAt !== undefined && !p.deadlinePassed ? Math.max(1, p.deadlineAt - Date.now()) : undefined;
    const ms = timeoutMs === undefined ? toDeadline : toDeadline === undefined ? timeoutMs : Math.min(timeoutMs, toDeadline);
    if (ms === undefined) await condition(cond);
    else await condition(cond, ms);
  }

  private inFlightOn(route: Route): number {
    let n = 0;
    for (const f of this.inFlight.values()) if (f.work.route === route) n++;
    return n;
  }

  /**
   * --deadline: once it passes, batches in flight are cancelled at the provider (their
   * chunks collect what is done and hand the rest to the realtime path), and Batch API
   * work not yet submitted goes realtime.
   */
  private checkDeadline(): void {
    const { p } = this;
    if (p.deadlinePassed || p.deadlineAt === undefined || Date.now() < p.deadlineAt) return;
    p.deadlinePassed = true;
    const stopped = this.stopInFlight('deadline', 'batch');
    for (const w of p.requeued) w.route = routeNow(p, w.route);
    log.info(`deadline passed: ${stopped} batch(es) cancelled at the provider; the remaining work goes realtime`);
    this.refresh();
  }

  // ── status, search attributes, current details, alerts ─────────────────────

  private reservedUsd(): number {
    let r = 0;
    for (const f of this.inFlight.values()) r += f.reserveUsd;
    return r;
  }

  refresh(): void {
    const batchIds = [...this.inFlight].filter(([, f]) => f.work.route === 'batch').map(([id]) => id);
    fillStatus(this.status, this.p, this.config, this.reservedUsd(), [...this.inFlight.keys()], batchIds, this.totalChunks, new Date().toISOString());
    setCurrentDetails(currentDetails(this.status));
  }

  setState(state: RunState): void {
    const changed = this.status.state !== state;
    this.status.state = state;
    this.refresh();
    if (!changed && state !== 'running') return;
    const c = this.status.counts;
    upsertSearchAttributes([
      { key: LlmBatchState, value: state },
      { key: LlmBatchProgress, value: c.total ? (c.succeeded + c.failed) / c.total : 0 },
      { key: LlmBatchSpentUsd, value: this.status.costUsd.spent },
    ]);
  }

  /** Sends an alert if a webhook is configured; never waits for it (see alertsSent). */
  alert(event: AlertEvent, detail?: string): Promise<void> {
    const webhook = this.config.alertWebhook;
    if (!webhook) return Promise.resolve();
    this.refresh();
    const payload = alertPayload(event, alertSummaryOf(this.status, detail), new Date().toISOString());
    const sent = this.act.sendAlert({ webhook, payload }).catch((e: unknown) => {
      log.warn(`alert ${event} was not delivered: ${(e as Error).message}`);
    });
    this.pendingAlerts.push(sent);
    return Promise.resolve();
  }

  /** Waits for the alerts still being delivered (bounded by their retries). */
  async alertsSent(): Promise<void> {
    await Promise.all(this.pendingAlerts.splice(0));
  }

  // ── the run ───────────────────────────────────────────────────────────────

  async execute(): Promise<RunStatus> {
    const { config } = this;
    if (this.fresh) {
      this.setState('staging');
      this.p.stage = this.staged ?? (await this.act.stageRun(config));
      const sa: Parameters<typeof upsertSearchAttributes>[0] = [];
      if (this.p.stage.models.length > 0) sa.push({ key: LlmBatchModel, value: this.p.stage.models.join(',') });
      if (this.p.budgetUsd !== undefined) sa.push({ key: LlmBatchBudgetUsd, value: this.p.budgetUsd });
      if (sa.length) upsertSearchAttributes(sa);
      // Batch and hybrid: every item gets its part (batch files by model, realtime chunks).
      if (config.mode !== 'realtime') {
        const { tooLargeForBatch, ...plan } = await this.act.planRun(config);
        this.p.plan = plan;
        // Items over --max-batch-bytes failed at planning (too_large_for_batch): no chunk reports them.
        if (tooLargeForBatch) {
          this.p.failed += tooLargeForBatch;
          this.p.batch.failed += tooLargeForBatch;
          log.info(`${tooLargeForBatch} item(s) over --max-batch-bytes (${config.maxBatchBytes}) failed at planning: too_large_for_batch`);
        }
      }
      if (config.deadlineMs !== undefined) this.p.deadlineAt = Date.parse(this.p.startedAt) + config.deadlineMs;
    }
    const plan = this.p.plan;
    this.totalChunks = plan ? plan.realtimeParts + plan.batchParts : chunkCount(this.p.stage.seqEnd, config.chunkSize);

    if (this.p.phase === 'sample') {
      if (config.sampleSize && this.p.stage.accepted > 0) await sampleAndApprove(this.sampleHost());
      if (this.p.phase === 'sample') this.p.phase = 'chunks';
    }
    if (this.p.phase === 'approval') await awaitApproval(this.sampleHost());
    if (this.p.phase === 'chunks' && !this.stopped()) {
      this.setState('running');
      await this.dispatchLoop((room) => nextChunkWork(this.p, this.config, this.totalChunks, room), true);
      if (!this.stopped()) await this.windows?.runEnded();
    }
    return this.finish();
  }

  private stopped(): boolean {
    const op = this.p.operator;
    return op.cancelled || op.rejected || this.p.stopReason !== undefined;
  }

  /**
   * The sliding window under the run's controls. `take` hands out the next piece of work;
   * a piece that cannot go yet is put back at the front of the queue.
   */
  private async dispatchLoop(take: (room: Room) => QueuedWork | undefined, mayContinueAsNew: boolean): Promise<void> {
    const { config, p } = this;
    const op = p.operator;
    for (;;) {
      if (this.childFailure !== undefined) break;
      if (this.stopped()) break;
      this.checkDeadline();
      if (op.paused) {
        this.stopInFlight('paused');
        this.setState('paused');
        await this.waitForChange(() => !op.paused || this.stopped());
        if (!op.paused && !this.stopped()) this.setState(p.phase === 'sample' ? 'sampling' : 'running');
        continue;
      }
      if (p.circuit.state !== 'closed') {
        await this.circuit.handleOpen();
        continue;
      }
      // --spot-check every K items (the main phase only): dispatch stops, what is in flight settles, then the gate.
      if (mayContinueAsNew && this.quality.due()) {
        if (this.inFlight.size > 0) await this.waitForChange(() => this.inFlight.size === 0);
        else await this.quality.checkpoint();
        continue;
      }
      const room: Room = { realtime: this.inFlightOn('realtime') < config.maxChunksInFlight, batch: this.inFlightOn('batch') < config.maxBatchesInFlight };
      if (!room.realtime && !room.batch) {
        await this.waitForChange();
        continue;
      }
      const work = take(room);
      if (!work) {
        if (this.inFlight.size === 0 && p.requeued.length === 0) break;
        await this.waitForChange();
        continue;
      }
      const putBack = (): void => {
        p.requeued.unshift(work);
      };
      if (mayContinueAsNew && (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= config.continueAsNewAfterEvents)) {
        putBack();
        await this.continueAsNew();
      }
      this.maybeSwitchModel();
      const model = p.modelSwitch?.to;
      const outputTokensPerItem = reservedOutputTokens(p.measured, config.outputMargin);
      const est = await this.act.estimateWork({
        config,
        selection: work.selection,
        batch: work.route === 'batch',
        ...(model !== undefined ? { model } : {}),
        ...(outputTokensPerItem !== undefined ? { outputTokensPerItem } : {}),
      });
      if (est.pending === 0) {
        if (work.chunkIndex >= 0) p.chunksDone++;
        continue;
      }
      // --window: the window's quota is used: it ends, and the run waits for the next one
      // (after the estimate: a piece with nothing pending left is never waited for).
      if (this.windows?.isFull()) {
        putBack();
        await this.windows.waitForNext();
        continue;
      }
      const decision = decideDispatch(ledgerOf(p, config, this.reservedUsd()), { pending: est.pending, usd: est.usd });
      if (decision.kind === 'wait') {
        putBack();
        await this.waitForChange();
        continue;
      }
      if (decision.kind === 'exhausted') {
        putBack();
        this.setState('budget_exhausted');
        if (!p.alerted.red) {
          p.alerted.red = true;
          await this.alert('budget_red', `the next ${est.pending} items need about $${est.usd.toFixed(4)}; raise the budget with: llm-batch budget ${config.runId} --raise USD`);
        }
        // No timeout: an operator raises the budget, or cancels.
        await this.waitForChange();
        if (!this.stopped() && !op.paused) this.setState(p.phase === 'sample' ? 'sampling' : 'running');
        continue;
      }
      const sized: WindowSizing = this.windows ? this.windows.size({ pending: est.pending, usd: est.usd }, decision) : decision;
      if (sized.kind !== 'dispatch') {
        putBack();
        if (sized.kind === 'wait') await this.waitForChange();
        continue;
      }
      await this.dispatch(work, est.before, sized.reserveUsd, sized.maxItems, outputTokensPerItem, sized.charge);
      if (this.status.state !== 'running' && this.status.state !== 'sampling') this.setState(p.phase === 'sample' ? 'sampling' : 'running');
    }
    // Leaving the loop: cancelled, rejected, out of quota, a bug, or all done. Chunks in flight stop (if asked) and report.
    if (this.p.operator.cancelled) this.stopInFlight('cancelled');
    else if (this.p.operator.rejected) this.stopInFlight('rejected');
    await condition(() => this.inFlight.size === 0 || this.childFailure !== undefined);
    if (this.childFailure !== undefined) {
      throw ApplicationFailure.nonRetryable(`a chunk failed, which only a bug can cause: ${(this.childFailure as Error).message}`, 'ChunkFailed');
    }
  }

  private async dispatch(work: QueuedWork, before: ItemTotals, reserveUsd: number, maxItems: number | undefined, outputTokensPerItem: number | undefined, windowCharge?: WindowCharge): Promise<void> {
    const { config, p } = this;
    const base = work.chunkIndex < 0 ? `${config.runId}/sample` : `${config.runId}/chunk-${work.chunkIndex}`;
    const workflowId = work.dispatches === 0 ? base : `${base}.${work.dispatches}`;
    work.dispatches++;
    const summary = workSummary(config, p, work, reserveUsd, maxItems, windowCharge);
    const handle = await startChild(chunkWorkflow, {
      workflowId,
      args: [chunkInputOf(config, p, work, before, reserveUsd, maxItems, outputTokensPerItem, windowCharge)],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      staticSummary: summary,
      priority: taskPriority(config),
    });
    const flight: InFlight = { work, reserveUsd, before, handle, ...(windowCharge ? { window: windowCharge } : {}) };
    this.inFlight.set(workflowId, flight);
    this.refresh();
    handle.result().then(
      (s) => this.onChunkDone(workflowId, flight, s),
      (e: unknown) => {
        this.childFailure = e;
        this.version++;
      },
    );
  }

  private onChunkDone(workflowId: string, flight: InFlight, s: ChunkSummary): void {
    const { p } = this;
    this.inFlight.delete(workflowId);
    addDelta(p, s, flight.before);
    this.windows?.settle(flight.window, { items: s.succeeded + s.failed - flight.before.succeeded - flight.before.failed, costUsd: s.costUsd - flight.before.costUsd });
    // A batch chunk hands what is left to the realtime path (--on-batch-failure realtime, --deadline).
    if (s.stopReason === 'to_realtime' || s.stopReason === 'deadline') flight.work.route = 'realtime';
    if (s.pending > 0 && s.stopReason !== 'insufficient_quota') p.requeued.push(flight.work);
    else if (s.pending === 0 && flight.work.chunkIndex >= 0) p.chunksDone++;
    if (s.stopReason === 'insufficient_quota') p.stopReason = 'insufficient_quota';
    if (s.stopReason === 'provider_unavailable' && p.circuit.state === 'closed') this.circuit.opened(flight.work.chunkIndex);
    const state = budgetState(ledgerOf(p, this.config, this.reservedUsd()));
    if ((state === 'yellow' || state === 'red') && !p.alerted.yellow) {
      p.alerted.yellow = true;
      void this.alert('budget_yellow', this.config.fallbackModel ? `remaining work switches to ${this.config.fallbackModel}` : undefined);
    }
    this.version++;
    this.refresh();
    upsertSearchAttributes([
      { key: LlmBatchProgress, value: this.status.counts.total ? (this.status.counts.succeeded + this.status.counts.failed) / this.status.counts.total : 0 },
      { key: LlmBatchSpentUsd, value: this.status.costUsd.spent },
    ]);
  }

  /** Yellow: remaining work goes to the fallback model, once, recorded in the status. */
  private maybeSwitchModel(): void {
    const { p, config } = this;
    const state = budgetState(ledgerOf(p, config, this.reservedUsd()));
    if (!shouldSwitchModel(state, config.fallbackModel, p.modelSwitch !== undefined)) return;
    p.modelSwitch = { from: p.stage.models.join(','), to: config.fallbackModel!, at: new Date().toISOString(), spentUsd: Math.round(p.costUsd * 1e9) / 1e9 };
    log.info(`budget ${state}: remaining work switches from ${p.modelSwitch.from} to ${p.modelSwitch.to} at $${p.modelSwitch.spentUsd}`);
    upsertSearchAttributes([{ key: LlmBatchModel, value: config.fallbackModel! }]);
    this.refresh();
  }

  /**
   * Tells every chunk in flight (on `only` route, if given) to stop at its next item, once
   * per chunk; a batch chunk told to hold (pause) is told again when its batch must end (cancel).
   */
  private stopInFlight(reason: ChunkStopSignal, only?: Route): number {
    let sent = 0;
    for (const f of this.inFlight.values()) {
      if (only !== undefined && f.work.route !== only) continue;
      const escalates = f.work.route === 'batch' && stopEndsBatch(reason) && !stopEndsBatch(f.stopSent);
      if (f.stopSent && !escalates) continue;
      f.stopSent = reason;
      sent++;
      // The chunk may finish before the signal lands: that is fine, it reports anyway.
      f.handle.signal(msg.stopChunkSignal, reason).catch(() => {});
    }
    return sent;
  }

  private async continueAsNew(): Promise<never> {
    // Drain the window and the alerts so nothing is in flight across the new run's start;
    // an operator's pause or cancel meanwhile still stops the chunks at once.
    const op = this.p.operator;
    while (this.inFlight.size > 0 && this.childFailure === undefined) {
      if (op.cancelled) this.stopInFlight('cancelled');
      else if (op.paused) this.stopInFlight('paused');
      await this.waitForChange(() => this.inFlight.size === 0);
    }
    if (this.childFailure !== undefined) {
      throw ApplicationFailure.nonRetryable(`a chunk failed, which only a bug can cause: ${(this.childFailure as Error).message}`, 'ChunkFailed');
    }
    await this.alertsSent();
    return continueAsNew<typeof runWorkflow>({ config: this.config, progress: this.p });
  }

  private async finish(): Promise<RunStatus> {
    const { p, config } = this;
    const op = p.operator;
    this.setState('exporting');
    let final: RunState = 'completed';
    if (op.cancelled) final = 'cancelled';
    else if (op.rejected) final = 'rejected';
    else if (p.stopReason === 'insufficient_quota') final = 'quota_exhausted';
    const notDone = notDoneFor(final);
    const exported = await this.act.exportRun({ config, notDone });
    this.status.outputPath = exported.outputPath;
    this.status.errorsPath = exported.errorsPath;
    this.setState(final);
    if (final === 'cancelled') await this.alert('cancelled');
    else if (final !== 'rejected') await this.alert('completed', final === 'quota_exhausted' ? 'stopped: the provider answered insufficient_quota' : undefined);
    await this.alertsSent();
    return this.status;
  }
}
