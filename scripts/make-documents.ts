// Writes N synthetic company documents to classify, in the OpenAI Batch input format, for
// rehearsing the README's "Processing a million documents" plan against the emulator:
//   node scripts/make-documents.ts 1000000 > documents.jsonl
// Deterministic (seeded): the same N gives the same file. Each line asks gpt-4o-mini to
// classify one document; the answer's shape comes from `run --schema examples/documents/schema.json`.
const count = Number(process.argv[2] ?? 1000);
if (!Number.isInteger(count) || count < 1) {
  console.error('usage: node scripts/make-documents.ts N   (N: how many documents, a whole number ≥ 1)');
  process.exit(2);
}

// mulberry32: a small 32-bit generator with a full period (an LCG in doubles loses precision and cycles early).
let seed = 20261202;
const rand = (): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const kinds = ['invoice', 'contract amendment', 'meeting notes', 'incident report', 'job application', 'purchase order', 'policy update', 'customer complaint'];
const teams = ['finance', 'legal', 'engineering', 'sales', 'people', 'operations'];
const subjects = ['the Q3 renewal', 'the data-centre move', 'supplier onboarding', 'the Berlin office lease', 'the new expense policy', 'a delayed shipment', 'the security audit'];
const details = [
  'Totals are attached and due within 30 days.',
  'Both parties agreed to extend the term by twelve months.',
  'Action items were assigned to the owners listed below.',
  'Service was degraded for 42 minutes before the rollback.',
  'The candidate has five years of experience in logistics.',
  'Please confirm the quantities before Friday.',
  'The change takes effect from the first of next month.',
  'The customer asks for a refund and a written apology.',
];
const SYSTEM = 'You classify internal company documents. Read the document and answer with its category, the team that owns it, whether it contains personal data, and a one-sentence summary.';

const out: string[] = [];
for (let i = 1; i <= count; i++) {
  const text = `${pick(kinds)} from ${pick(teams)} about ${pick(subjects)}. ${pick(details)} ${pick(details)} Reference ${String.fromCharCode(65 + Math.floor(rand() * 26))}-${i}-${1000 + Math.floor(rand() * 9000)}.`;
  out.push(JSON.stringify({
    custom_id: `doc-${String(i).padStart(7, '0')}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: text }], max_tokens: 120 },
    metadata: { feature: 'document-classification' },
  }));
  // Written in pieces, so a million lines never sit in memory at once.
  if (out.length === 10_000) process.stdout.write(`${out.splice(0).join('\n')}\n`);
}
if (out.length) process.stdout.write(`${out.join('\n')}\n`);
