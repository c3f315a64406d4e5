// The spend benchmark's input: a realistic support-desk file of 4,000 requests in OpenAI
// Batch input format, deterministic (seeded), with what each lever feeds on:
// - 540 lines repeat an earlier request body verbatim (new custom_id, same body): the exact cache;
// - reply drafts share one long (>1,024-token) handbook as their system prompt, and 150 long
//   documents each get 4 different tasks, their lines spread through a shuffled file: the
//   provider's prompt cache, if dispatch keeps each document's tasks together. The documents
//   open with the same 300-token notice, as a company's documents do, so the provider's own
//   routing (on the first 256 tokens) cannot tell them apart: what prompt_cache_key is for;
// - every line asks for gpt-4o, and each carries metadata.feature: model routing.
import { writeFileSync } from 'node:fs';
import { countChatPromptTokens } from '../src/llm/tokens.ts';
import { rng } from './input.ts';

export const SPEND_MODEL = 'gpt-4o';
export const SPEND_LINES = 4000;
export const SPEND_REPEATS = 540;
const DOCUMENTS = 150;
const DOC_TASKS = [
  { feature: 'doc-summary', task: 'Summarise the document above in five bullet points.', maxTokens: 200 },
  { feature: 'doc-actions', task: 'List every action item in the document above, with its owner.', maxTokens: 150 },
  { feature: 'doc-classify', task: 'Classify the document above as incident, policy, proposal or minutes, then give a one-line reason.', maxTokens: 30 },
  { feature: 'doc-title', task: 'Write a short title for the document above.', maxTokens: 20 },
] as const;

const PRODUCTS = ['the mobile app', 'the web dashboard', 'invoice export', 'SSO login', 'the API', 'team billing', 'CSV import', 'email notifications'];
const PROBLEMS = ['keeps logging me out every few minutes', 'shows a blank page after the last update', 'charged us twice this month', 'times out when the file is over 20 MB', 'sends notifications in the wrong time zone', 'rejects valid addresses with an error 422', 'is much slower since Tuesday', 'lost the filters I had saved'];
const MOODS = ['Hi,', 'Hello team,', 'This is urgent:', 'Not sure who to ask, but', 'Quick question -', 'We are evaluating a renewal and'];
const NAMES = ['Priya', 'Marco', 'Aiko', 'Lena', 'Tomás', 'Grace', 'Olu', 'Sven'];
const TOPICS = ['the billing migration', 'the March outage', 'the new on-call rota', 'data retention', 'the EU region launch', 'vendor access reviews', 'the mobile release train', 'support staffing'];
const VERBS = ['reviewed', 'agreed on', 'postponed', 'escalated', 'documented', 'questioned', 'approved', 'measured'];
const OWNERS = ['Dana', 'Rafael', 'Mei', 'Jonas', 'Amara', 'Kenji', 'Sofia', 'Liam'];

/** About `tokens` tokens of prose built from the seeded vocabulary. */
function prose(r: () => number, tokens: number, model: string): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const parts: string[] = [];
  let text = '';
  while (countChatPromptTokens(model, [{ role: 'user', content: text }]) < tokens) {
    parts.push(`${pick(OWNERS)} ${pick(VERBS)} ${pick(TOPICS)} on day ${1 + Math.floor(r() * 28)}, noting that ${pick(PRODUCTS)} ${pick(PROBLEMS)} for ${2 + Math.floor(r() * 40)} customers.`);
    text = parts.join(' ');
  }
  return text;
}

export interface SpendInput {
  path: string;
  lines: number;
  distinctBodies: number;
  features: Record<string, number>;
}

export function writeSpendInput(path: string, seed = 11): SpendInput {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const handbook = `You are a support agent. Follow the handbook below when you draft a reply.\n\n${prose(r, 1300, SPEND_MODEL)}`;
  const bodies: { feature: string; body: unknown }[] = [];
  // Long documents, each with four tasks: the document first, the task last, so the shared prefix is long.
  // Company documents open with the same boilerplate: longer than the 256 tokens the
  // provider routes on, so without a prompt_cache_key every document lands on one machine.
  const notice = `CONFIDENTIAL. Internal use only. ${prose(r, 300, SPEND_MODEL)}`;
  for (let d = 0; d < DOCUMENTS; d++) {
    const doc = `${notice}\n\nDocument ${d + 1}:\n${prose(r, 1150, SPEND_MODEL)}`;
    for (const t of DOC_TASKS) {
      bodies.push({ feature: t.feature, body: { model: SPEND_MODEL, messages: [{ role: 'system', content: 'You answer questions about internal documents.' }, { role: 'user', content: `${doc}\n\n${t.task}` }], max_tokens: t.maxTokens, temperature: 0.2 } });
    }
  }
  const tickets = [
    { feature: 'triage', system: 'Classify the support ticket. Answer with one of: billing, bug, how-to, account, feature-request, then a one-line reason.', maxTokens: 40 },
    { feature: 'summary', system: 'Summarise the ticket for the on-call engineer in at most three bullet points.', maxTokens: 120 },
    { feature: 'reply-draft', system: handbook, maxTokens: 200 },
  ] as const;
  const distinct = SPEND_LINES - SPEND_REPEATS;
  const seen = new Set<string>();
  while (bodies.length < distinct) {
    const t = pick(tickets);
    const ticket = `${pick(MOODS)} ${pick(PRODUCTS)} ${pick(PROBLEMS)}. We noticed it on ${1 + Math.floor(r() * 28)} November around ${Math.floor(r() * 24)}:00. Account #${100000 + Math.floor(r() * 900000)}. Thanks, ${pick(NAMES)}`;
    const body = { model: SPEND_MODEL, messages: [{ role: 'system', content: t.system }, { role: 'user', content: ticket }], max_tokens: t.maxTokens, temperature: 0.2 };
    const key = JSON.stringify(body);
    if (seen.has(key)) continue; // the repeats are placed below, on purpose
    seen.add(key);
    bodies.push({ feature: t.feature, body });
  }
  // Shuffle (Fisher–Yates), then repeat 540 earlier bodies verbatim at later places.
  for (let i = bodies.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [bodies[i], bodies[j]] = [bodies[j]!, bodies[i]!];
  }
  const out = [...bodies];
  for (let k = 0; k < SPEND_REPEATS; k++) {
    const at = 1 + Math.floor(r() * out.length);
    const source = out[Math.floor(r() * at)]!;
    out.splice(at, 0, source);
  }
  const features: Record<string, number> = {};
  const lines = out.map((b, i) => {
    features[b.feature] = (features[b.feature] ?? 0) + 1;
    return JSON.stringify({ custom_id: `req-${String(i + 1).padStart(5, '0')}-${b.feature}`, method: 'POST', url: '/v1/chat/completions', body: b.body, metadata: { feature: b.feature } });
  });
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, lines: lines.length, distinctBodies: new Set(out.map((b) => JSON.stringify(b.body))).size, features };
}
