// The benchmark's input: deterministic, ticket-like chat requests in OpenAI Batch input
// format (60–120 prompt tokens each, max_tokens 60), and what the emulator will charge
// for each against TPM (exact prompt tokens + max_tokens).
import { writeFileSync } from 'node:fs';
import { countChatPromptTokens } from '../src/llm/tokens.ts';

export const MODEL = 'gpt-4o-mini';
export const MAX_TOKENS = 60;
const MIN_PROMPT = 60;
const MAX_PROMPT = 120;

const SYSTEMS = [
  'Classify the support ticket. Answer with one of: billing, bug, how-to, account, feature-request, then a one-line reason.',
  'Summarise the ticket for the on-call engineer in at most three bullet points.',
  'Draft a friendly, concise first reply to the customer. Do not promise dates.',
];
const OPENERS = ['Hello team,', 'Hi,', 'Not sure who to ask, but', 'This is urgent:', 'Good morning,', 'Quick question:'];
const SUBJECTS = ['the mobile app', 'the billing page', 'the CSV export', 'single sign-on', 'the API', 'the dashboard', 'team invitations', 'the search box'];
const PROBLEMS = [
  'is much slower since Tuesday',
  'keeps logging me out every few minutes',
  'shows an error 500 when I click save',
  'charged us twice this month',
  'does not load at all in Firefox',
  'returns an empty list although we have data',
];
const DETAILS = [
  'We already cleared the cache and tried another browser.',
  'Three people on my team see the same thing.',
  'It worked fine last week before your release.',
  'The error message says something about a timeout.',
  'We are on the Business plan and this blocks our month-end close.',
  'I attached a screenshot to the previous email.',
  'Our admin says nothing changed on our side.',
  'Could you also tell me whether there is a status page I can follow?',
  'We need this fixed before our audit on Friday.',
  'Restarting the app helps for about ten minutes.',
];
const NAMES = ['Lena', 'Aiko', 'Grace', 'Omar', 'Priya', 'Tomás', 'Wei', 'Fatima'];

/** mulberry32: a tiny seeded PRNG, so every bench run sends the same input. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BenchInput {
  path: string;
  items: number;
  /** Exact prompt tokens summed over the input (the emulator's count). */
  promptTokens: number;
  /** What the emulator charges against TPM for all items: prompt + max_tokens each. */
  chargeTokens: number;
  minPrompt: number;
  maxPrompt: number;
}

export function writeBenchInput(path: string, n: number, seed = 42): BenchInput {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const lines: string[] = [];
  let promptTokens = 0;
  let minPrompt = Infinity;
  let maxPrompt = 0;
  for (let i = 0; i < n; i++) {
    const target = MIN_PROMPT + Math.floor(r() * (MAX_PROMPT - MIN_PROMPT + 1));
    const system = pick(SYSTEMS);
    let user = `${pick(OPENERS)} ${pick(SUBJECTS)} ${pick(PROBLEMS)}. We noticed it on ${1 + Math.floor(r() * 28)} November around ${8 + Math.floor(r() * 10)}:00. Account #${100000 + Math.floor(r() * 900000)}.`;
    const count = (u: string) => countChatPromptTokens(MODEL, [{ role: 'system', content: system }, { role: 'user', content: u }]);
    const name = pick(NAMES);
    const details = [...DETAILS];
    let tokens = count(`${user} Thanks, ${name}`);
    while (tokens < target && details.length > 0) {
      const next = `${user} ${details.splice(Math.floor(r() * details.length), 1)[0]}`;
      const t = count(`${next} Thanks, ${name}`);
      if (t > MAX_PROMPT) break;
      user = next;
      tokens = t;
    }
    user = `${user} Thanks, ${name}`;
    const messages = [{ role: 'system', content: system }, { role: 'user', content: user }];
    const p = countChatPromptTokens(MODEL, messages);
    promptTokens += p;
    minPrompt = Math.min(minPrompt, p);
    maxPrompt = Math.max(maxPrompt, p);
    lines.push(
      JSON.stringify({
        custom_id: `ticket-${String(i + 1).padStart(6, '0')}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: MODEL, messages, max_tokens: MAX_TOKENS, temperature: 0.2 },
      }),
    );
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, items: n, promptTokens, chargeTokens: promptTokens + n * MAX_TOKENS, minPrompt, maxPrompt };
}
