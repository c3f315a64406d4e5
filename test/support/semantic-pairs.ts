// The semantic cache's evaluation set, built deterministically from examples/support-tickets.jsonl
// (scripts/make-example.ts shows how those tickets are made). Each pair is two chat requests
// that differ only in their user message (same model, parameters and system prompt, so the
// same scope):
// - paraphrase pairs, which SHOULD share an answer: one to four of the ticket's phrases
//   replaced by synonyms ('synonyms'), its clauses reordered ('reorder'), its punctuation and
//   case changed ('format'), or a synonym or reorder change with a format change on top ('mixed');
// - near-miss pairs, which must NOT: negation added or removed, a third of them with a
//   format change on top ('negation'); a changed number ('number'), date or time ('date'),
//   account id ('account'), customer name ('name') or quoted error message ('quote');
// - 'topic' pairs, the same ticket about another product: no guard rule covers them, only
//   the threshold does. They are reported on their own (see the test's note).
// Each ticket of the file is used by one pair at most, so no two pairs share a prompt.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type PairKind = 'synonyms' | 'reorder' | 'format' | 'mixed' | 'negation' | 'number' | 'date' | 'account' | 'name' | 'quote' | 'topic';
export const PARAPHRASE_KINDS: readonly PairKind[] = ['synonyms', 'reorder', 'format', 'mixed'];
export const NEAR_MISS_KINDS: readonly PairKind[] = ['negation', 'number', 'date', 'account', 'name', 'quote'];

export interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  max_tokens: number;
  temperature: number;
}

export interface SemanticPair {
  kind: PairKind;
  /** True for paraphrases: the second request may reuse the first one's answer. */
  shouldHit: boolean;
  /** The ticket's line in the example file (1-based). */
  line: number;
  a: ChatBody;
  b: ChatBody;
}

/** A parsed ticket: "<mood> <product> <problem>. We noticed it on <day> November around <hour>:00. Account #<n>. Thanks, <name>". */
interface Ticket {
  mood: string;
  product: string;
  problem: string;
  day: number;
  hour: number;
  account: number;
  name: string;
}

const TICKET = /^(.+?) (the mobile app|the web dashboard|invoice export|SSO login|the API|team billing|CSV import|email notifications) (.+)\. We noticed it on (\d+) November around (\d+):00\. Account #(\d+)\. Thanks, (.+)$/;

const MOOD_SYNONYMS: Record<string, string[]> = {
  'Hi,': ['Hey,', 'Hello,'],
  'Hello team,': ['Hi team,', 'Hello everyone,'],
  'This is urgent:': ['Urgent:', 'This is pressing:'],
  'Not sure who to ask, but': ['I am not sure whom to ask, but', 'Not sure whom to ask, but'],
  'Quick question -': ['A quick question:', 'Quick question:'],
  'We are evaluating a renewal and': ['We are considering a renewal and', 'We are reviewing our renewal and'],
};
const PRODUCT_SYNONYMS: Record<string, string> = {
  'the mobile app': 'the mobile application',
  'the web dashboard': 'the dashboard on the web',
  'invoice export': 'the invoice export',
  'SSO login': 'SSO sign-in',
  'the API': 'your API',
  'team billing': 'billing for teams',
  'CSV import': 'the CSV import',
  'email notifications': 'e-mail notifications',
};
const PROBLEM_SYNONYMS: Record<string, string> = {
  'keeps logging me out every few minutes': 'keeps signing me out every few minutes',
  'shows a blank page after the last update': 'shows an empty page after the latest update',
  'charged us twice this month': 'billed us twice this month',
  'times out when the file is over 20 MB': 'times out whenever the file is larger than 20 MB',
  'sends notifications in the wrong time zone': 'sends alerts in the wrong timezone',
  'rejects valid addresses with an error 422': 'refuses valid addresses with error 422',
  'is much slower since Tuesday': 'is a lot slower since Tuesday',
  'lost the filters I had saved': 'lost my saved filters',
};
/** Each problem with its meaning reversed by a negation. */
const PROBLEM_NEGATED: Record<string, string> = {
  'keeps logging me out every few minutes': 'does not keep logging me out every few minutes',
  'shows a blank page after the last update': "doesn't show a blank page after the last update",
  'charged us twice this month': 'never charged us twice this month',
  'times out when the file is over 20 MB': 'does not time out when the file is over 20 MB',
  'sends notifications in the wrong time zone': "doesn't send notifications in the wrong time zone",
  'rejects valid addresses with an error 422': 'never rejects valid addresses with an error 422',
  'is much slower since Tuesday': 'is not much slower since Tuesday',
  'lost the filters I had saved': 'has not lost the filters I had saved',
};
const PRODUCTS = Object.keys(PRODUCT_SYNONYMS);
const NAMES = ['Priya', 'Marco', 'Aiko', 'Lena', 'Tomás', 'Grace', 'Olu', 'Sven', 'Fatima', 'Noah'];
const QUOTES = ['Session expired', 'Invalid token', 'Payment declined', 'Unknown error', 'Access denied', 'File too large', 'Address not found', 'Rate limit exceeded'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'];

/** The example file's tickets, with their system prompt and parameters. */
export function exampleTickets(path = join(import.meta.dirname, '../../examples/support-tickets.jsonl')): { line: number; body: ChatBody; ticket: Ticket }[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((raw, i) => {
    const body = (JSON.parse(raw) as { body: ChatBody }).body;
    const m = TICKET.exec(body.messages[1]!.content);
    if (!m) throw new Error(`examples/support-tickets.jsonl:${i + 1}: not a ticket of scripts/make-example.ts's shape`);
    const ticket = { mood: m[1]!, product: m[2]!, problem: m[3]!, day: Number(m[4]), hour: Number(m[5]), account: Number(m[6]), name: m[7]! };
    return { line: i + 1, body, ticket };
  });
}

/** The ticket's text, sentence by sentence, as the example file writes it. */
function sentences(t: Ticket): { opening: string; when: string; account: string; thanks: string } {
  return {
    opening: `${t.mood} ${t.product} ${t.problem}.`,
    when: `We noticed it on ${t.day} November around ${t.hour}:00.`,
    account: `Account #${t.account}.`,
    thanks: `Thanks, ${t.name}`,
  };
}
const render = (t: Ticket): string => Object.values(sentences(t)).join(' ');

/** A small seeded generator (same as scripts/make-example.ts), so the set is the same every time. */
function seeded(seed: number): <T>(xs: readonly T[]) => T {
  let s = seed;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return (xs) => xs[Math.floor(rand() * xs.length)]!;
}

type Pick = ReturnType<typeof seeded>;

/** Some of the ticket's phrases (at least one, often two or three) replaced by synonyms. */
function synonyms(t: Ticket, pick: Pick): string {
  const s = sentences(t);
  const parts = { mood: t.mood, product: t.product, problem: t.problem, when: s.when, account: s.account, thanks: s.thanks };
  const slots: (() => void)[] = [
    () => (parts.mood = pick(MOOD_SYNONYMS[t.mood]!)),
    () => (parts.product = PRODUCT_SYNONYMS[t.product]!),
    () => (parts.problem = PROBLEM_SYNONYMS[t.problem]!),
    () => (parts.when = pick([`We saw it on ${t.day} November around ${t.hour}:00.`, `We noticed it on ${t.day} November at about ${t.hour}:00.`, `It started on ${t.day} November around ${t.hour}:00.`])),
    () => (parts.account = pick([`Our account is #${t.account}.`, `Account number #${t.account}.`])),
    () => (parts.thanks = pick([`Thank you, ${t.name}`, `Cheers, ${t.name}`, `Regards, ${t.name}`])),
  ];
  const count = pick([1, 2, 2, 3, 3, 4]);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(pick([0, 1, 2, 3, 4, 5]));
  for (const i of chosen) slots[i]!();
  return `${parts.mood} ${parts.product} ${parts.problem}. ${parts.when} ${parts.account} ${parts.thanks}`;
}

function reorder(t: Ticket, pick: Pick): string {
  const s = sentences(t);
  return pick([
    `${s.opening} ${s.account} ${s.when} ${s.thanks}`,
    `${s.account} ${s.opening} ${s.when} ${s.thanks}`,
    `${s.opening} We noticed it around ${t.hour}:00 on ${t.day} November. ${s.account} ${s.thanks}`,
    `${s.opening} We noticed it on November ${t.day} around ${t.hour}:00. ${s.thanks} (account #${t.account})`,
  ]);
}

function format(text: string, pick: Pick): string {
  return pick([
    (x: string) => x.toLowerCase(),
    (x: string) => x.replace(/\.(\s|$)/g, '$1'),
    (x: string) => x.replace(/\. /g, '.\n').replace(/, /g, ',  '),
    (x: string) => x.toUpperCase(),
    (x: string) => `${x.replace(/\.(\s|$)/g, '!$1')}!!`,
  ])(text);
}

/** Another value of a number in the ticket, or a count added to both sides. */
function numberChange(t: Ticket, pick: Pick): [string, string] {
  const base = render(t);
  if (t.problem.includes('20 MB')) return [base, base.replace('20 MB', `${pick([25, 30, 50, 200])} MB`)];
  if (t.problem.includes('422')) return [base, base.replace('422', String(pick([400, 423, 429, 500])))];
  if (t.problem.includes('twice')) return [base, base.replace('twice', pick(['three times', '4 times']))];
  const n = pick([3, 5, 12]);
  const s = sentences(t);
  const withCount = (k: number): string => `${s.opening} It affects ${k} users. ${s.when} ${s.account} ${s.thanks}`;
  return [withCount(n), withCount(n * 10)];
}

function dateChange(t: Ticket, pick: Pick): [string, string] {
  const base = render(t);
  const change = pick(['day', 'month', 'hour', 'weekday'] as const);
  if (change === 'day') return [base, base.replace(` ${t.day} November`, ` ${t.day === 28 ? 27 : t.day + 1} November`)];
  if (change === 'month') return [base, base.replace(' November', ` ${pick(['October', 'December'])}`)];
  if (change === 'hour') return [base, base.replace(` ${t.hour}:00`, ` ${(t.hour + pick([1, 2, 12])) % 24}:00`)];
  if (t.problem.includes('Tuesday')) return [base, base.replace('Tuesday', pick(['Monday', 'Wednesday', 'Friday']))];
  const s = sentences(t);
  const day = pick(WEEKDAYS);
  const since = (d: string): string => `${s.opening} It started ${d}. ${s.when} ${s.account} ${s.thanks}`;
  return [since(day), since(WEEKDAYS[(WEEKDAYS.indexOf(day) + 1) % WEEKDAYS.length]!)];
}

function negation(t: Ticket, pick: Pick, reworded: boolean): [string, string] {
  const plain = render(t);
  const negated = render({ ...t, problem: PROBLEM_NEGATED[t.problem]! });
  const variant = pick(['problem', 'noticed', 'problem'] as const);
  let pair: [string, string] = variant === 'problem' ? [plain, negated] : [plain, plain.replace('We noticed it', pick(['We did not notice it', "We didn't notice it", 'We never noticed it']))];
  // On top of a rewording, the negated side is also paraphrased: the vectors are further
  // apart, and the guard alone must still refuse.
  if (reworded) pair = [pair[0], format(pair[1], pick)];
  // Half the pairs remove the negation instead of adding it.
  return pick([true, false]) ? pair : [pair[1], pair[0]];
}

function withBody(body: ChatBody, userText: string): ChatBody {
  return { ...body, messages: [body.messages[0]!, { role: 'user', content: userText }] };
}

/** Counts per kind; the tickets are dealt out in file order. */
export const PAIR_COUNTS: Record<PairKind, number> = {
  synonyms: 200, reorder: 200, format: 200, mixed: 200,
  negation: 300, number: 200, date: 200, account: 200, name: 200, quote: 200,
  topic: 200,
};

export function semanticPairs(): SemanticPair[] {
  const tickets = exampleTickets();
  const pick = seeded(20261124);
  const pairs: SemanticPair[] = [];
  let next = 0;
  for (const kind of Object.keys(PAIR_COUNTS) as PairKind[]) {
    for (let i = 0; i < PAIR_COUNTS[kind]; i++) {
      const { line, body, ticket: t } = tickets[next++]!;
      const base = render(t);
      let texts: [string, string];
      switch (kind) {
        case 'synonyms': texts = [base, synonyms(t, pick)]; break;
        case 'reorder': texts = [base, reorder(t, pick)]; break;
        case 'format': texts = [base, format(base, pick)]; break;
        case 'mixed': texts = [base, format(pick([reorder, synonyms])(t, pick), pick)]; break;
        case 'negation': texts = negation(t, pick, i % 3 === 2); break;
        case 'number': texts = numberChange(t, pick); break;
        case 'date': texts = dateChange(t, pick); break;
        case 'account': texts = [base, render({ ...t, account: t.account + pick([1, 9, 10, 1000]) })]; break;
        case 'name': texts = [base, render({ ...t, name: pick(NAMES.filter((n) => n !== t.name)) })]; break;
        case 'quote': {
          const q = pick(QUOTES);
          const other = pick(QUOTES.filter((x) => x !== q));
          const quoted = (x: string): string => `${base.replace(/ We noticed/, ` The error says "${x}". We noticed`)}`;
          texts = [quoted(q), quoted(other)];
          break;
        }
        case 'topic': texts = [base, render({ ...t, product: pick(PRODUCTS.filter((p) => p !== t.product && !/[A-Z]{2}/.test(p))) })]; break;
      }
      pairs.push({ kind, shouldHit: PARAPHRASE_KINDS.includes(kind), line, a: withBody(body, texts[0]), b: withBody(body, texts[1]) });
    }
  }
  return pairs;
}
