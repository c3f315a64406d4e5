// The Batch API through the openai SDK: upload an input file, create a batch, find a batch
// by its metadata (how a retried submit avoids a second batch), poll, cancel, and stream
// result files line by line. The SDK's own retries are off: the activities' Temporal
// retry policy owns them, so a failure shows in the Temporal UI with its attempts.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import OpenAI, { APIError } from 'openai';
import type { Batch } from 'openai/resources/batches';

export type { Batch };

export interface BatchClientOptions {
  apiKey?: string;
  baseURL?: string;
  requestTimeoutMs: number;
}

export const FINAL_BATCH_STATUSES: readonly Batch['status'][] = ['completed', 'failed', 'expired', 'cancelled'];

export class BatchClient {
  private readonly openai: OpenAI;

  constructor(opts: BatchClientOptions) {
    this.openai = new OpenAI({ apiKey: opts.apiKey ?? 'no-key-emulator', baseURL: opts.baseURL ?? null, maxRetries: 0, timeout: opts.requestTimeoutMs });
  }

  /** Uploads a Batch input file (purpose "batch"); returns its file id. */
  async upload(path: string): Promise<string> {
    const file = await this.openai.files.create({ file: createReadStream(path), purpose: 'batch' });
    return file.id;
  }

  /** Whether the provider still has a file (a retried submit reuses an upload it finds). */
  async fileExists(fileId: string): Promise<boolean> {
    try {
      await this.openai.files.retrieve(fileId);
      return true;
    } catch (e) {
      if (e instanceof APIError && e.status === 404) return false;
      throw e;
    }
  }

  async create(inputFileId: string, endpoint: string, metadata: Record<string, string>): Promise<Batch> {
    return this.openai.batches.create({ input_file_id: inputFileId, endpoint: endpoint as never, completion_window: '24h', metadata });
  }

  /**
   * The newest batch whose metadata holds every given entry, looking back to `notBeforeMs`
   * (batches are listed newest first, so the walk stops at the first older one).
   */
  async find(metadata: Record<string, string>, notBeforeMs: number): Promise<Batch | undefined> {
    for await (const b of this.openai.batches.list({ limit: 100 })) {
      if (b.created_at * 1000 < notBeforeMs) return undefined;
      const m = (b.metadata ?? {}) as Record<string, string>;
      if (Object.entries(metadata).every(([k, v]) => m[k] === v)) return b;
    }
    return undefined;
  }

  retrieve(batchId: string): Promise<Batch> {
    return this.openai.batches.retrieve(batchId);
  }

  /** Asks the provider to cancel; a batch that already ended (409, or 400 on some servers) is left as it is. */
  async cancel(batchId: string): Promise<void> {
    try {
      await this.openai.batches.cancel(batchId);
    } catch (e) {
      if (e instanceof APIError && (e.status === 409 || e.status === 400)) return;
      throw e;
    }
  }

  /** A file's lines, streamed (a 200 MB output file is never held whole). */
  async *lines(fileId: string): AsyncIterable<string> {
    const res = await this.openai.files.content(fileId);
    if (!res.body) return;
    const rl = createInterface({ input: Readable.fromWeb(res.body as never), crlfDelay: Infinity });
    for await (const line of rl) if (line !== '') yield line;
  }

  /** A cheap call that tells whether the provider answers (the circuit's probe in batch mode). */
  async ping(): Promise<void> {
    await this.openai.models.list();
  }
}
