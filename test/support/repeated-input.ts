// An input with exact repeats, as the exact cache's tests need it: `distinct` support-ticket
// request bodies plus `repeats` more lines that repeat one of them verbatim (as far as the
// answer goes: each line has its own custom_id, metadata and body.metadata, and some have
// their body's keys in another order), spread through the file. Deterministic (seeded).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RepeatedInput {
  path: string;
  ids: string[];
  /** Per line (input order), the index of its distinct body. */
  bodyOf: number[];
  /** The distinct bodies, as a request sends them (without the lines' metadata). */
  bodies: Record<string, unknown>[];
}

const products = ['the mobile app', 'the web dashboard', 'invoice export', 'SSO login', 'the API', 'team billing', 'CSV import', 'email notifications'];
const problems = ['keeps logging me out', 'shows a blank page', 'charged us twice', 'times out on big files', 'uses the wrong time zone', 'rejects valid addresses', 'is much slower since Tuesday'];
const tasks = [
  { feature: 'triage', system: 'Classify the support ticket: billing, bug, how-to, account or feature-request, then a one-line reason.' },
  { feature: 'summary', system: 'Summarise the ticket for the on-call engineer in at most three bullet points.' },
] as const;

export function writeRepeatedInput(dir: string, name: string, distinct: number, repeats: number, opts: { maxTokens?: number; seed?: number; tag?: string } = {}): RepeatedInput {
  let seed = opts.seed ?? 4000;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const bodies = Array.from({ length: distinct }, (_, i) => {
    const task = tasks[i % tasks.length]!;
    const ticket = `${opts.tag ?? 'Ticket'} ${i}: ${products[i % products.length]} ${problems[Math.floor(i / products.length) % problems.length]}. Account #${100000 + i * 7}.`;
    return { feature: task.feature, body: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: task.system }, { role: 'user', content: ticket }], max_tokens: opts.maxTokens ?? 300, temperature: 0.2 } };
  });
  // Each distinct body once, in order; then each repeat inserted at a random place, repeating a random body.
  const order = bodies.map((_, i) => i);
  for (let r = 0; r < repeats; r++) order.splice(Math.floor(rand() * (order.length + 1)), 0, Math.floor(rand() * distinct));
  const ids: string[] = [];
  const lines = order.map((b, line) => {
    const { feature, body } = bodies[b]!;
    const customId = `t-${String(line + 1).padStart(5, '0')}`;
    ids.push(customId);
    // Answer-neutral differences: metadata in the body, and (every third line) the body's keys reversed.
    const withMeta: Record<string, unknown> = { ...body, metadata: { line: String(line + 1) } };
    const sent = line % 3 === 0 ? Object.fromEntries(Object.entries(withMeta).reverse()) : withMeta;
    return JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: sent, metadata: { feature, line: line + 1 } });
  });
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, ids, bodyOf: order, bodies: bodies.map((b) => b.body) };
}
