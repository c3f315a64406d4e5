// What the emulator answered, counted per X-Client-Request-Id (realtime) or custom_id
// (batch lines) so tests can prove that no item was served twice.

export interface EmulatorStats {
  requests: number;
  /** Answered 200 with a valid body. */
  served: number;
  /** 429 answered for a rate limit (requests or tokens, "request too large" included). */
  rateLimited: number;
  quotaRejected: number;
  /** 500/503 injected by errorRate. */
  serverErrors: number;
  /** 503 answered inside an outage window. */
  outageErrors: number;
  malformed: number;
  hung: number;
  /** 400 and 404 answers. */
  badRequests: number;
  /** Distinct X-Client-Request-Id values served. */
  uniqueIds: number;
  /** Ids served 200 more than once. */
  duplicateIds: number;
  /** 200 answers beyond the first per id. */
  duplicateCalls: number;
  promptTokens: number;
  completionTokens: number;
  /** Batch API: batches created, batch lines served (also counted in `served`), lines answered 500, files uploaded. */
  batchesCreated: number;
  batchLinesServed: number;
  batchLinesFailed: number;
  filesUploaded: number;
  /** Batch API fault: uploads and batch creations refused with 400 (also counted in badRequests). */
  uploadsRefused: number;
  batchCreatesRefused: number;
  /** Calls per path. */
  byEndpoint: Record<string, number>;
  /** Answers served (200) per model, with the tokens they were billed for. */
  byModel: Record<string, ModelServed>;
}

export interface ModelServed {
  served: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
}

export type StatCounter = Exclude<keyof EmulatorStats, 'byEndpoint' | 'byModel' | 'uniqueIds' | 'duplicateIds' | 'duplicateCalls' | 'served' | 'promptTokens' | 'completionTokens' | 'requests'>;

/** One request as it arrived: when (epoch ms), where, and its X-Client-Request-Id. */
export interface RequestRecord {
  at: number;
  path: string;
  id?: string;
}

/** The request log keeps the latest this many arrivals. */
const LOG_LIMIT = 200_000;

export class StatsCounter {
  private s = StatsCounter.empty();
  private servedById = new Map<string, number>();
  private log: RequestRecord[] = [];

  private static empty(): EmulatorStats {
    return {
      requests: 0,
      served: 0,
      rateLimited: 0,
      quotaRejected: 0,
      serverErrors: 0,
      outageErrors: 0,
      malformed: 0,
      hung: 0,
      badRequests: 0,
      uniqueIds: 0,
      duplicateIds: 0,
      duplicateCalls: 0,
      promptTokens: 0,
      completionTokens: 0,
      batchesCreated: 0,
      batchLinesServed: 0,
      batchLinesFailed: 0,
      filesUploaded: 0,
      uploadsRefused: 0,
      batchCreatesRefused: 0,
      byEndpoint: {},
      byModel: {},
    };
  }

  request(endpoint: string, id?: string, at = Date.now()): void {
    this.log.push(id === undefined ? { at, path: endpoint } : { at, path: endpoint, id });
    // Trimmed in one go once it holds twice the limit: a splice per arrival would move
    // 200,000 records on every call of a million-item run.
    if (this.log.length >= 2 * LOG_LIMIT) this.log = this.log.slice(-LOG_LIMIT);
    this.s.requests++;
    this.s.byEndpoint[endpoint] = (this.s.byEndpoint[endpoint] ?? 0) + 1;
  }

  count(what: StatCounter): void {
    this.s[what]++;
  }

  served(id: string | undefined, promptTokens: number, completionTokens: number, model?: { name: string; cachedTokens: number }): void {
    this.s.served++;
    this.s.promptTokens += promptTokens;
    this.s.completionTokens += completionTokens;
    if (model) {
      const m = (this.s.byModel[model.name] ??= { served: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0 });
      m.served++;
      m.promptTokens += promptTokens;
      m.cachedTokens += model.cachedTokens;
      m.completionTokens += completionTokens;
    }
    if (id === undefined) return;
    const n = (this.servedById.get(id) ?? 0) + 1;
    this.servedById.set(id, n);
    if (n === 1) this.s.uniqueIds++;
    else {
      this.s.duplicateCalls++;
      if (n === 2) this.s.duplicateIds++;
    }
  }

  snapshot(): EmulatorStats {
    return { ...this.s, byEndpoint: { ...this.s.byEndpoint }, byModel: Object.fromEntries(Object.entries(this.s.byModel).map(([k, v]) => [k, { ...v }])) };
  }

  /** Arrivals (every answer, faults included) since `since` (epoch ms), oldest first. */
  requests(since = 0): RequestRecord[] {
    return this.log.slice(-LOG_LIMIT).filter((r) => r.at >= since);
  }

  reset(): void {
    this.s = StatsCounter.empty();
    this.servedById = new Map();
    this.log = [];
  }
}
