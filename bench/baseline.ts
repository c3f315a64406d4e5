// The naive baseline: what users write today. The openai SDK with its default settings
// (2 retries, honouring retry-after), p-limit for concurrency, everything in memory, no
// durability, no rate limiter. Run as its own process by bench/run.ts so that its peak
// RSS is its own:
//   node bench/baseline.ts <input.jsonl> <output.jsonl> <baseURL> <concurrency>
// Prints one JSON line on stdout: timings, counts and its own VmHWM.
import { readFileSync, writeFileSync } from 'node:fs';
import OpenAI from 'openai';
import pLimit from 'p-limit';

const [inputPath, outputPath, baseURL, concurrencyText] = process.argv.slice(2);
if (!inputPath || !outputPath || !baseURL || !concurrencyText) {
  console.error('usage: node bench/baseline.ts <input.jsonl> <output.jsonl> <baseURL> <concurrency>');
  process.exit(2);
}

type Line = { custom_id: string; body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming };
const lines = readFileSync(inputPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
const openai = new OpenAI({ apiKey: 'emulator', baseURL });
const limit = pLimit(Number(concurrencyText));

const startedAt = Date.now();
const errors: Record<string, number> = {};
const results = await Promise.all(
  lines.map((line) =>
    limit(async () => {
      try {
        const completion = await openai.chat.completions.create(line.body);
        return { custom_id: line.custom_id, response: { status_code: 200, body: completion }, error: null };
      } catch (e) {
        const status = (e as { status?: number }).status;
        const key = status ? `http_${status}` : (e as Error).name;
        errors[key] = (errors[key] ?? 0) + 1;
        return { custom_id: line.custom_id, response: null, error: { code: key, message: (e as Error).message } };
      }
    }),
  ),
);
writeFileSync(outputPath, `${results.map((r) => JSON.stringify(r)).join('\n')}\n`);
const endedAt = Date.now();

const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
const succeeded = results.filter((r) => r.error === null).length;
process.stdout.write(
  `${JSON.stringify({ startedAt, endedAt, items: lines.length, succeeded, failed: lines.length - succeeded, errors, vmHwmKiB: hwm ? Number(hwm[1]) : null })}\n`,
);
