// The submit side of a batch chunk (the submitBatch activity, batch-api.ts): writes the chunk's
// pending items as a Batch input file, uploads it and creates the batch. Idempotent: a retry
// finds the upload and the batch it already made (the store's record, then a lookup by
// metadata), so a crash never creates a second batch. A refused upload or creation is kept as
// data (batch-refusals.ts).
import { createWriteStream, existsSync, mkdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import type { ItemTotals } from '../domain/run-types.ts';
import { batchInputLine, batchMetadata, submissionKey, withModel } from '../domain/batch-format.ts';
import type { Batch } from '../llm/batch-client.ts';
import { crashPoint } from './crash-points.ts';
import { SubmitCache } from '../cache/batch-cache.ts';
import { cachePolicy } from '../domain/exact-cache.ts';
import { answerFits, validatesAnswers } from './schema-attempts.ts';
import { refusedFileGoesRealtime, type BatchRefusal } from '../domain/batch-refusal.ts';
import { customIdsOfFile, failRefusedItems, refusalOf } from './batch-refusals.ts';
import { rethrow, submittedIds } from './batch-provider.ts';
import type { BatchDeps, BatchSubmission, SubmitResult } from './batch-api.ts';

const PAGE = 5000;

/** The submit operations over `deps`: writing a submission's input file, and submitting it. */
export function batchSubmitter(deps: BatchDeps) {
  /** Writes the pending items of a submission as a Batch input file; returns its lines and model. */
  async function writeInputFile(input: BatchSubmission, path: string, maxItems: number | undefined): Promise<{ lines: number; model: string }> {
    const { config } = input;
    const out = createWriteStream(path);
    let lines = 0;
    let bytes = 0;
    let model = input.model ?? '';
    let after = -1;
    const limit = maxItems ?? Number.MAX_SAFE_INTEGER;
    // The exact cache: hits are recorded now and left out, as are repeats of a line already in the file.
    // --schema: a stored answer is a hit only if it passes the check a collected one does.
    const fit = validatesAnswers(config)
      ? (bodyJson: string, responseJson: string) => answerFits(JSON.parse(bodyJson), JSON.parse(responseJson))
      : undefined;
    const cache = cachePolicy(config.cache).dedupe ? new SubmitCache(deps.store, config, await deps.pricingFor(config), input.submission, fit) : undefined;
    try {
      while (lines < limit) {
        const page = await deps.store.pendingRequests(config.runId, input.selection, after, Math.min(PAGE, limit - lines));
        if (page.length === 0) break;
        const leftOut = await cache?.leaveOut(page, input.model);
        let text = '';
        for (const r of page) {
          if (leftOut?.has(r.customId)) {
            after = r.seq;
            continue;
          }
          const line = batchInputLine(r.customId, r.url, withModel(r.bodyJson, input.model));
          const size = Buffer.byteLength(line);
          // A part fits by plan; only a fallback model's longer name could push it over.
          if (lines > 0 && bytes + size > config.maxBatchBytes) break;
          if (model === '') model = r.model;
          text += line;
          bytes += size;
          lines++;
          after = r.seq;
        }
        if (!out.write(text)) await once(out, 'drain');
        if (after !== page[page.length - 1]!.seq) break;
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    return { lines, model };
  }

  async function submit(input: BatchSubmission & { maxItems?: number; before: Pick<ItemTotals, 'succeeded' | 'failed'> }): Promise<SubmitResult> {
    const { config } = input;
    const runId = config.runId;
    const key = submissionKey(input.chunkIndex, input.dispatch, input.submission);
    const client = deps.batchClientFor(config);
    const metadata = batchMetadata(runId, key);
    let rec = await deps.store.batchRecord(runId, key);
    if (rec?.batchId) return { batchId: rec.batchId, lines: rec.lines, model: rec.model };
    // The file as written here; kept until the batch is created, so a refusal reads its ids without a download.
    const path = join(deps.runDir(runId), 'batches', `chunk-${key}.jsonl`);
    try {
      // Created before a crash, but the record was not saved: the provider knows it by its metadata.
      if (rec?.inputFileId) {
        const found = await client.find(metadata, (rec.uploadedAt ?? 0) - 5 * 60_000);
        if (found) {
          await deps.store.saveBatchRecord(runId, { ...rec, batchId: found.id });
          rmSync(path, { force: true });
          return { batchId: found.id, lines: rec.lines, model: rec.model };
        }
        if (!(await client.fileExists(rec.inputFileId))) rec = undefined;
      }
      if (!rec?.inputFileId) {
        mkdirSync(dirname(path), { recursive: true });
        let limit: number | undefined;
        if (input.maxItems !== undefined) {
          const now = await deps.store.totals(runId, input.selection);
          limit = Math.max(0, input.maxItems - (now.succeeded + now.failed - input.before.succeeded - input.before.failed));
        }
        const { lines, model } = limit === 0 ? { lines: 0, model: '' } : await writeInputFile(input, path, limit);
        if (lines === 0) {
          rmSync(path, { force: true });
          return { lines: 0 };
        }
        const uploadedAt = Date.now();
        let inputFileId: string;
        try {
          inputFileId = await client.upload(path);
        } catch (e) {
          const refusal = refusalOf('upload', e);
          if (!refusal) throw e;
          const ids = await customIdsOfFile(path);
          rmSync(path, { force: true });
          return await refused(input, refusal, ids, model);
        }
        rec = { key, model, lines, inputFileId, uploadedAt };
        await deps.store.saveBatchRecord(runId, rec);
        crashPoint('submit:after-upload');
      }
      const url = (await deps.store.pendingRequests(runId, input.selection, -1, 1))[0]?.url ?? '/v1/chat/completions';
      let batch: Batch;
      try {
        batch = await client.create(rec.inputFileId!, url, metadata);
      } catch (e) {
        const refusal = refusalOf('create', e);
        if (!refusal) throw e;
        // The file this worker uploaded, or (another worker uploaded it) the provider's copy.
        const ids = existsSync(path) ? await customIdsOfFile(path) : await submittedIds(client, rec.inputFileId!);
        rmSync(path, { force: true });
        return await refused(input, refusal, ids, rec.model);
      }
      rmSync(path, { force: true });
      crashPoint('submit:after-create');
      await deps.store.saveBatchRecord(runId, { ...rec, batchId: batch.id });
      return { batchId: batch.id, lines: rec.lines, model: rec.model };
    } catch (e) {
      rethrow(`submitting batch ${key} of ${runId}`, e);
    }
  }

  /** A refused file: its items fail with the provider's message, or (--on-batch-failure realtime) stay pending for the realtime path. */
  async function refused(input: BatchSubmission, refusal: BatchRefusal, ids: string[], model: string): Promise<SubmitResult> {
    const failed = refusedFileGoesRealtime(input.config) ? 0 : await failRefusedItems(deps.store, input.config.runId, ids, refusal, input.submission + 1, model);
    return { lines: ids.length, refused: { ...refusal, failed } };
  }

  return { writeInputFile, submit };
}
