// The dashboard's data, read from the item store (store/dashboard-sql.ts) and shaped by
// domain/dashboard-view.ts: what the page's /api/ endpoints answer.
import type { ItemStore } from '../store/item-store.ts';
import type { TemporalStateOf } from './temporal-state.ts';
import { num, str, type Row } from '../store/rows.ts';
import { leverSavings, runCurve, runView, type LeverSaving, type MinutePoint, type RunView, type SpendRow } from '../domain/dashboard-view.ts';

export interface Overview {
  byFeature: SpendRow[];
  byModel: SpendRow[];
  byMode: SpendRow[];
  byDay: SpendRow[];
  levers: LeverSaving[];
  runs: RunView[];
}

export interface RunPage {
  run: RunView;
  curve: MinutePoint[];
  errors: { code: string; items: number }[];
}

export interface ErrorExample {
  customId: string;
  statusCode: number | null;
  message: string;
}

/** The most runs of the overview whose state Temporal is asked for on each poll. */
const RUNS_ASKED = 20;

const toSpendRow = (r: Row): SpendRow => ({
  key: str(r.key) ?? '', succeeded: num(r.succeeded), failed: num(r.failed), costUsd: num(r.cost), savedUsd: num(r.saved),
  semanticSavedUsd: num(r.semantic_saved), promptCacheSavedUsd: num(r.prompt_cache_saved),
});

function toRunView(r: Row, batchDiscount: number): RunView {
  const opt = <T>(v: T | undefined): T | undefined => v;
  const budget = r.budget_usd === null || r.budget_usd === undefined ? undefined : num(r.budget_usd);
  const warnAt = r.budget_warn_at === null || r.budget_warn_at === undefined ? undefined : num(r.budget_warn_at);
  return runView({
    runId: String(r.run_id), items: num(r.items), succeeded: num(r.succeeded), failed: num(r.failed), costUsd: num(r.cost),
    batchCostUsd: num(r.batch_cost), savedUsd: num(r.saved),
    ...(str(r.run_mode) !== undefined ? { mode: str(r.run_mode)! } : {}),
    ...(budget !== undefined ? { budgetUsd: budget } : {}),
    ...(opt(warnAt) !== undefined ? { budgetWarnAt: warnAt! } : {}),
    ...(str(r.first_minute) !== undefined ? { firstMinute: str(r.first_minute)!, lastMinute: str(r.last_minute)! } : {}),
  }, batchDiscount);
}

export class DashboardData {
  private readonly store: ItemStore;
  private readonly batchDiscount: number;
  private readonly temporalState: TemporalStateOf | undefined;

  constructor(store: ItemStore, batchDiscount: number, temporalState?: TemporalStateOf) {
    this.store = store;
    this.batchDiscount = batchDiscount;
    this.temporalState = temporalState;
  }

  /** Adds Temporal's word on the run, when asked for and reachable. */
  private async withTemporal(run: RunView): Promise<RunView> {
    const state = await this.temporalState?.(run.runId);
    return state === undefined ? run : { ...run, temporalState: state };
  }

  async overview(): Promise<Overview> {
    await this.store.foldSpendDelta();
    const [byFeature, byModel, byMode, byDay, runs] = await Promise.all([
      this.store.dashboardQuery('spend_by_feature', []),
      this.store.dashboardQuery('spend_by_model', []),
      this.store.dashboardQuery('spend_by_mode', []),
      this.store.dashboardQuery('spend_by_day', []),
      this.store.dashboardQuery('runs', []),
    ]);
    const mode = byMode.map(toSpendRow);
    return {
      byFeature: byFeature.map(toSpendRow), byModel: byModel.map(toSpendRow), byMode: mode, byDay: byDay.map(toSpendRow),
      levers: leverSavings(mode, this.batchDiscount),
      // Temporal is asked about runs the store does not show finished, at most RUNS_ASKED of them.
      runs: await Promise.all(runs.map((r) => toRunView(r, this.batchDiscount)).map((v, i) => (v.state !== 'finished' && i < RUNS_ASKED ? this.withTemporal(v) : v))),
    };
  }

  /** One run's page; undefined when the store knows no such run. */
  async run(runId: string): Promise<RunPage | undefined> {
    await this.store.foldSpendDelta();
    // The runs query is small (one row per run), so the run's row is picked from it.
    const [runs, minutes, errors] = await Promise.all([
      this.store.dashboardQuery('runs', []),
      this.store.dashboardQuery('run_minutes', [runId]),
      this.store.dashboardQuery('run_errors', [runId]),
    ]);
    const row = runs.find((r) => String(r.run_id) === runId);
    if (!row) return undefined;
    return {
      run: await this.withTemporal(toRunView(row, this.batchDiscount)),
      curve: runCurve(minutes.map((m) => ({
        minute: String(m.minute), succeeded: num(m.succeeded), failed: num(m.failed), costUsd: num(m.cost),
        rateLimited: num(m.rate_limited), latencyMsSum: num(m.latency_ms_sum), latencyCount: num(m.latency_count),
      }))),
      errors: errors.map((e) => ({ code: str(e.code) ?? '(none)', items: num(e.items) })),
    };
  }

  async errorExamples(runId: string, code: string, limit = 20): Promise<ErrorExample[]> {
    const rows = await this.store.dashboardQuery('run_error_examples', [runId, code, limit]);
    return rows.map((r) => {
      let message = '';
      try {
        message = String((JSON.parse(String(r.error)) as { message?: unknown }).message ?? '');
      } catch {
        message = String(r.error);
      }
      return { customId: String(r.custom_id), statusCode: r.status_code === null || r.status_code === undefined ? null : num(r.status_code), message };
    });
  }
}
