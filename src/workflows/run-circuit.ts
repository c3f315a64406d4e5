// The run's circuit breaker, workflow side of domain/circuit-breaker.ts: a chunk that finds
// the provider down opens the circuit for the whole run (opened); the run's loop then hands
// each turn to handleOpen, which stops the chunks in flight, waits on a durable timer (or
// the probe signal), sends one probe call, and closes the circuit on success or waits longer.
// The circuit lives in RunProgress.circuit, so it survives continue-as-new.
import { condition, log } from '@temporalio/workflow';
import type { AlertEvent } from '../domain/alerts.ts';
import { openCircuit, probeResult, startProbe, type CircuitPolicy } from '../domain/circuit-breaker.ts';
import type { ChunkStopSignal, RunConfig, RunState } from '../domain/run-types.ts';
import { emptyTokens } from '../domain/run-types.ts';
import type { runActivities } from './run-activities.ts';
import { addDelta, type RunProgress } from './run-status.ts';

/** What the circuit breaker sees of the run. */
export interface CircuitHost {
  readonly config: RunConfig;
  /** The run's progress now. */
  progress(): RunProgress;
  /** The run's probeProvider activity. */
  readonly act: Pick<ReturnType<typeof runActivities>, 'probeProvider'>;
  /** Realtime chunks in flight. */
  realtimeInFlight(): number;
  /** A chunk failed (a bug): the run's loop must end. */
  childFailed(): boolean;
  /** Cancelled, rejected, or stopped for good (insufficient_quota). */
  stopped(): boolean;
  /** Tells the chunks in flight to stop (see Run.stopInFlight). */
  stopInFlight(reason: ChunkStopSignal): number;
  setState(state: RunState): void;
  alert(event: AlertEvent, detail?: string): Promise<void>;
  refresh(): void;
}

export class RunCircuit {
  private readonly policy: CircuitPolicy;
  private readonly host: CircuitHost;

  constructor(host: CircuitHost) {
    this.host = host;
    this.policy = { initialDelayMs: host.config.circuitInitialDelayMs, maxDelayMs: host.config.circuitMaxDelayMs };
  }

  /** A chunk reported provider_unavailable with the circuit closed: it opens, and the operator is told. */
  opened(chunkIndex: number): void {
    const p = this.host.progress();
    p.circuit = openCircuit(p.circuit, this.policy, Date.now());
    void this.host.alert('circuit_open', `chunk ${chunkIndex} saw ${this.host.config.circuitFailureThreshold} provider failures in a row; first probe in ${Math.round(this.policy.initialDelayMs / 1000)} s`);
  }

  /**
   * Open circuit: chunks in flight stop; the run waits on a durable timer (or the probe
   * signal), sends one probe call, and closes the circuit on success or waits longer.
   */
  async handleOpen(): Promise<void> {
    const { host } = this;
    const { config } = host;
    const p = host.progress();
    const op = p.operator;
    host.stopInFlight('circuit_open');
    host.setState('circuit_open');
    // Batches already at the provider run on (they cannot be paused); realtime chunks stop.
    await condition(() => host.realtimeInFlight() === 0 || host.childFailed());
    const interrupted = (): boolean => op.paused || host.stopped() || host.childFailed();
    if (interrupted()) return;
    const waitMs = Math.max(0, (p.circuit.nextProbeAt ?? Date.now()) - Date.now());
    await condition(() => op.probeRequested || interrupted(), waitMs);
    if (interrupted()) return;
    op.probeRequested = false;
    p.circuit = startProbe(p.circuit);
    host.refresh();
    const model = p.modelSwitch?.to;
    const r = await host.act.probeProvider({ config, ...(model !== undefined ? { model } : {}) });
    if (r.recorded) addDelta(p, { ...r.recorded, items: 1, pending: 0 }, { succeeded: 0, failed: 0, costUsd: 0, tokens: emptyTokens() });
    p.circuit = probeResult(p.circuit, r.ok, this.policy, Date.now());
    if (p.circuit.state === 'closed') {
      log.info(`circuit closed after ${p.circuit.probes} probe(s): ${r.detail}`);
      await host.alert('circuit_closed', r.detail);
      host.setState(p.phase === 'sample' ? 'sampling' : 'running');
    } else {
      log.info(`probe failed (${r.detail}); next probe at ${new Date(p.circuit.nextProbeAt!).toISOString()}`);
      host.refresh();
    }
  }
}
