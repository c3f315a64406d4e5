// Staging as it was before the staging threads (commit 980b5c2's stageInput, line by line on
// one thread, reduced to what it wrote): the reference the threaded staging must match
// exactly; and an input with every kind of line to compare them on.
import { createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { RunConfig } from '../../src/domain/run-types.ts';
import type { ItemStore, NewItem, RejectRecord } from '../../src/store/item-store.ts';
import { readInput } from '../../src/input/reader.ts';
import { parseUrgentRule, routeOf } from '../../src/domain/routing.ts';
import { countRequestPromptTokens, maxOutputTokens, DEFAULT_MAX_OUTPUT_TOKENS } from '../../src/llm/tokens.ts';

export async function referenceStage(store: ItemStore, config: RunConfig, runDir: string): Promise<{ lines: number; accepted: number; rejected: number; seqEnd: number; promptTokens: number; maxOutputTokens: number }> {
  const rule = config.urgentIf === undefined ? [] : parseUrgentRule(config.urgentIf);
  if (typeof rule === 'string') throw new Error(rule);
  mkdirSync(runDir, { recursive: true });
  const rejects = createWriteStream(join(runDir, 'rejects.jsonl'), { encoding: 'utf8' });
  let rejectBatch: RejectRecord[] = [];
  const writeReject = (r: RejectRecord): void => {
    rejectBatch.push(r);
    rejects.write(`${JSON.stringify(r)}\n`);
  };
  let lines = 0, accepted = 0, rejected = 0, nextSeq = 0, prompt = 0, output = 0;
  let batch: NewItem[] = [];
  const flushRejects = async (): Promise<void> => {
    if (rejectBatch.length === 0) return;
    await store.recordRejects(config.runId, rejectBatch);
    rejectBatch = [];
  };
  const flush = async (): Promise<void> => {
    if (batch.length > 0) {
      const { duplicates } = await store.stageItems(config.runId, batch);
      const dupLines = new Set(duplicates.map((d) => d.line));
      for (const d of duplicates) {
        rejected++;
        writeReject({ line: d.line, custom_id: d.customId, code: 'duplicate_custom_id', message: `custom_id "${d.customId}" was already used on line ${d.firstLine}` });
      }
      for (const it of batch) {
        if (dupLines.has(it.line)) continue;
        accepted++;
        prompt += it.promptTokens;
        output += it.maxOutputTokens;
      }
      batch = [];
    }
    await flushRejects();
  };
  for await (const { lineNumber, result } of readInput(config.inputPath, config)) {
    lines++;
    if (!result.ok) {
      rejected++;
      writeReject({ line: lineNumber, custom_id: result.reject.customId ?? null, code: result.reject.code, message: result.reject.message });
      if (rejectBatch.length >= 500) await flushRejects();
      continue;
    }
    const { line } = result;
    batch.push({
      customId: line.customId, seq: nextSeq++, line: lineNumber, url: line.url, body: line.body, model: line.body.model,
      ...(line.feature !== undefined ? { feature: line.feature } : {}),
      ...(line.priority !== undefined ? { priority: line.priority } : {}),
      route: routeOf(config.mode, line, rule),
      promptTokens: countRequestPromptTokens(line.url, line.body),
      maxOutputTokens: line.url === '/v1/embeddings' ? 0 : maxOutputTokens(line.body, DEFAULT_MAX_OUTPUT_TOKENS),
    });
    if (batch.length >= 500) await flush();
  }
  await flush();
  rejects.end();
  await once(rejects, 'close');
  return { lines, accepted, rejected, seqEnd: nextSeq, promptTokens: prompt, maxOutputTokens: output };
}

export const TEXTS = ['plain ascii', 'déjà vu, naïve café', '日本語のチケット：請求書の出力が失敗します', 'emoji 🚀🔥 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'tab\tnew\\nline "quoted"', 'ℵ₀ ≠ ∞'];

/** ~2,600 lines: valid chat and embeddings lines with multi-byte text, and every kind of bad line, duplicates near and far. */
export function mixedInput(): string {
  const out: string[] = [];
  for (let i = 0; i < 2600; i++) {
    const text = `${TEXTS[i % TEXTS.length]} #${i}`;
    const id = i % 97 === 5 ? `t-${i - 3}` : i % 401 === 7 ? 't-2' : `t-${i}`; // duplicates within a batch and across batches
    const chat = (extra: Record<string, unknown> = {}): string => JSON.stringify({
      custom_id: id, method: 'POST', url: '/v1/chat/completions',
      body: { model: i % 5 === 0 ? 'gpt-4o' : 'gpt-4o-mini', messages: [{ role: 'system', content: 'Classify.' }, { role: 'user', content: text, ...(i % 7 === 0 ? { name: 'ana' } : {}) }], ...(i % 3 === 0 ? { max_tokens: 50 + i } : {}), ...extra },
      ...(i % 4 === 0 ? { metadata: { feature: ['triage', 'reply'][i % 2], ...(i % 8 === 0 ? { priority: 'urgent' } : {}) } } : {}),
    });
    switch (i % 53) {
      case 1: out.push('{not json'); break;
      case 2: out.push(''); break;
      case 3: out.push('[1,2]'); break;
      case 4: out.push(JSON.stringify({ custom_id: id, method: 'GET', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [] } })); break;
      case 6: out.push(JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini' } })); break;
      case 8: out.push(chat({ stream: true })); break;
      case 9: out.push(JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: i % 2 ? text : [text, 'ü', 'x'] } })); break;
      case 10: out.push(`${chat()}\r`); break; // CRLF line
      default: out.push(chat());
    }
  }
  return `${out.join('\n')}\n`;
}
