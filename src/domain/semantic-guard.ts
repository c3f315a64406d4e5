// The semantic cache's guard: may two prompts that an embedding finds similar share one
// answer? Embeddings place "the app logs me out" and "the app does not log me out" close
// together, and "account #1001" next to "account #1002"; reusing the answer there would be
// wrong. So a hit is refused, with the reason, when the two texts differ in:
// - quoted strings ("…", “…”, '…', `…`), exactly;
// - negation: the negations ("not", "n't", "no", "never", "without", "nothing", "unable"…)
//   and the word each one negates, as a multiset ("can log in but not export" ≠ "can export
//   but not log in");
// - dates and times: "5 November" = "November 5th", month and weekday names, "16:00" =
//   "4 pm", ISO and slashed dates, relative days ("today", "next week");
// - numbers: digits ("1,000" = "1000") and number words ("twenty" = "20", "twice" = "2x",
//   "first" = "1st");
// - named entities: identifiers (#ids, @handles, e-mail addresses, URLs, tokens mixing
//   letters and digits such as INV-2024-001), acronyms (SSO, API), CamelCase names, and
//   capitalised words not at the start of a sentence ("Thanks, Lena"). An entity of one text
//   must occur in the other, in any case and position (so "lena" or a sentence-initial "Lena"
//   still counts). A text mostly in capitals names no entities of its own (every word
//   would look like an acronym), but the other text's entities must still occur in it.
// It is a guard, not an oracle: it only ever refuses, and what it cannot see (an antonym,
// a swapped product name in lower case) is left to the similarity threshold. Pure.

export type GuardReason = 'negation' | 'quote' | 'date' | 'number' | 'entity';

export interface GuardRefusal {
  reason: GuardReason;
  /** What differs, for the user auditing a refusal: `"Lena" in one prompt only`. */
  detail: string;
}

/** What the guard compares, computed once per text. */
export interface PromptFacts {
  negations: string[];
  quotes: string[];
  dates: string[];
  numbers: string[];
  identifiers: string[];
  /** Names as written (capitals kept), matched in the other text case-insensitively. */
  names: string[];
  /** Every word of the text, lower-cased, possessive 's removed. */
  words: Set<string>;
}

const NEGATION_CUES = new Set(['not', 'no', 'never', 'none', 'nobody', 'nothing', 'nowhere', 'neither', 'nor', 'without', 'unable', 'cannot']);
/** Words between a negation and what it negates: "does not even really work" negates "work". */
const NEGATION_FILLERS = new Set(
  'a an the be been being even ever yet really quite very so too always any at all much more longer to have has had do does did is are was were will would could should can may might must i we you it this that there'.split(' '),
);
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'jr', 'sr', 'vs', 'etc', 'e.g', 'i.e', 'inc', 'ltd', 'co', 'no', 'approx', 'dept', 'est']);

const MONTHS: Record<string, number> = {
  january: 1, february: 2, march: 3, april: 4, may: 5, june: 6, july: 7, august: 8, september: 9, october: 10, november: 11, december: 12,
  jan: 1, feb: 2, mar: 3, apr: 4, jun: 6, jul: 7, aug: 8, sep: 9, sept: 9, oct: 10, nov: 11, dec: 12,
};
/** Month names that are also common words: a month only next to a day or year number. */
const AMBIGUOUS_MONTHS = new Set(['may', 'march', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec']);
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const RELATIVE_DAYS = ['today', 'tomorrow', 'yesterday', 'tonight', 'weekend', 'noon', 'midnight'];
const PERIODS = ['day', 'week', 'month', 'year', 'quarter', 'weekend', 'night', 'morning', 'evening', 'afternoon', ...WEEKDAYS];

const UNITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const NUMBER_WORDS: Record<string, string> = {
  ...Object.fromEntries(UNITS.map((w, i) => [w, String(i)])),
  ...Object.fromEntries(TENS.map((w, i) => [w, String(20 + 10 * i)])),
  hundred: '100', thousand: '1000', million: '1000000', billion: '1000000000', dozen: '12',
  once: '1x', twice: '2x', thrice: '3x',
  first: '1st', second: '2nd', third: '3rd', fourth: '4th', fifth: '5th', sixth: '6th', seventh: '7th', eighth: '8th', ninth: '9th', tenth: '10th',
};

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

/** A word without a possessive or contraction tail ("Lena's" → "Lena"). */
const bare = (w: string): string => w.replace(/['’]s$/i, '');

/** Blanks out matched spans (keeping the length, so positions stay meaningful) and collects what `found` makes of them. */
function take(text: string, re: RegExp, found: (m: string[]) => string | undefined): { text: string; taken: string[] } {
  const taken: string[] = [];
  const out = text.replace(re, (...args: unknown[]) => {
    // (match, ...groups, offset, whole text)
    const m = args.slice(0, -2) as string[];
    const value = found(m);
    if (value === undefined) return m[0]!;
    taken.push(value);
    return ' '.repeat(m[0]!.length);
  });
  return { text: out, taken };
}

function quotesOf(text: string): string[] {
  const out: string[] = [];
  const patterns = [/"([^"\n]{1,300})"/g, /“([^”\n]{1,300})”/g, /«([^»\n]{1,300})»/g, /`([^`\n]{1,300})`/g, /(?<![\p{L}\p{N}])['‘]([^'’\n]{1,300})['’](?![\p{L}\p{N}])/gu];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!.replace(/\s+/g, ' ').trim());
  return out.sort();
}

/** "16:00", "4pm", "4:30 p.m." as 24-hour "HH:MM". */
function clock(h: string, min: string | undefined, ampm: string | undefined): string {
  let hour = Number(h) % 24;
  const half = ampm?.replace(/\./g, '').toLowerCase();
  if (half === 'pm' && hour < 12) hour += 12;
  if (half === 'am' && hour === 12) hour = 0;
  return `${String(hour).padStart(2, '0')}:${(min ?? '00').padStart(2, '0')}`;
}

const MONTH_NAMES = Object.keys(MONTHS).sort((a, b) => b.length - a.length).join('|');

/** Dates and times as comparable values; the text with them blanked out (their numbers are not numbers). */
function datesOf(text: string): { dates: string[]; rest: string } {
  const dates: string[] = [];
  const step = (re: RegExp, f: (m: string[]) => string | undefined): void => {
    const r = take(text, re, f);
    text = r.text;
    dates.push(...r.taken);
  };
  step(/\b(\d{4})-(\d{1,2})-(\d{1,2})\b/g, (m) => `${m[1]}-${Number(m[2])}-${Number(m[3])}`);
  step(/\b(\d{1,2})\/(\d{1,2})(?:\/(\d{2,4}))?\b/g, (m) => `${Number(m[1])}/${Number(m[2])}${m[3] ? `/${m[3]}` : ''}`);
  step(/\b(\d{1,2}):(\d{2})(?::\d{2})?(?:\s*([ap]\.?m\.?)(?![\p{L}]))?/giu, (m) => clock(m[1]!, m[2], m[3]));
  step(/\b(\d{1,2})\s*([ap]\.?m\.?)(?![\p{L}])/giu, (m) => clock(m[1]!, undefined, m[2]));
  const day = '(\\d{1,2})(?:st|nd|rd|th)?';
  const year = '(?:,?\\s+(\\d{4}))?';
  const monthDay = (name: string, d: string, y: string | undefined): string => `${MONTHS[name.toLowerCase()]}-${Number(d)}${y ? `-${y}` : ''}`;
  step(new RegExp(`\\b${day}\\s+(?:of\\s+)?(${MONTH_NAMES})\\.?${year}\\b`, 'gi'), (m) => monthDay(m[2]!, m[1]!, m[3]));
  step(new RegExp(`\\b(${MONTH_NAMES})\\.?\\s+${day}\\b${year}`, 'gi'), (m) => monthDay(m[1]!, m[2]!, m[3]));
  step(new RegExp(`\\b(${MONTH_NAMES})\\.?\\s+(\\d{4})\\b`, 'gi'), (m) => `${MONTHS[m[1]!.toLowerCase()]}-${m[2]}`);
  step(new RegExp(`\\b(${MONTH_NAMES})\\b`, 'gi'), (m) => (AMBIGUOUS_MONTHS.has(m[1]!.toLowerCase()) ? undefined : `${MONTHS[m[1]!.toLowerCase()]}`));
  step(new RegExp(`\\b(last|next|this|past|coming)\\s+(${PERIODS.join('|')})\\b`, 'gi'), (m) => `${m[1]!.toLowerCase()} ${m[2]!.toLowerCase()}`);
  step(new RegExp(`\\b(${[...WEEKDAYS, ...RELATIVE_DAYS].join('|')})\\b`, 'gi'), (m) => m[1]!.toLowerCase());
  return { dates: dates.sort(), rest: text };
}

/** Identifiers (blanked out of the text afterwards, so their digits are not numbers). */
function identifiersOf(text: string): { identifiers: string[]; rest: string } {
  const ids: string[] = [];
  const step = (re: RegExp, f: (m: string[]) => string | undefined): void => {
    const r = take(text, re, f);
    text = r.text;
    ids.push(...r.taken);
  };
  step(/\bhttps?:\/\/[^\s"'<>]+[^\s"'<>.,;:!?)]/gi, (m) => m[0].toLowerCase());
  step(/[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu, (m) => m[0].toLowerCase());
  step(/(?<![\p{L}\p{N}])[@#][\p{L}\p{N}_][\p{L}\p{N}_.-]*[\p{L}\p{N}_]|(?<![\p{L}\p{N}])[@#][\p{L}\p{N}_]/gu, (m) => m[0].toLowerCase());
  // Tokens mixing letters and digits, except a number with a short unit ("20MB", "3x", "1st").
  step(/(?<![\p{L}\p{N}])[\p{L}\p{N}]+(?:[-_./][\p{L}\p{N}]+)*(?![\p{L}\p{N}])/gu, (m) => {
    const t = m[0];
    if (!/\p{L}/u.test(t) || !/\p{N}/u.test(t)) return undefined;
    if (/^\d+(?:[.,]\d+)?[\p{L}%]{1,3}$/u.test(t)) return undefined;
    return t.toLowerCase();
  });
  return { identifiers: ids.sort(), rest: text };
}

function numbersOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?<![\p{L}\p{N}.])([-+]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(st|nd|rd|th|%)?/giu)) {
    const n = `${m[1] === '-' ? '-' : ''}${m[2]!.replace(/,/g, '')}${m[3] ?? ''}`;
    out.push(`${String(Number(n))}${m[4]?.toLowerCase() ?? ''}`);
  }
  for (const m of text.matchAll(WORD)) {
    const n = NUMBER_WORDS[m[0].toLowerCase()];
    if (n !== undefined) out.push(n);
  }
  return out.sort();
}

/** A crude stem, so that "not working" and "doesn't work" negate the same thing. */
const stem = (w: string): string => w.replace(/(?:ing|ed|es|s)$/, (s) => (w.length - s.length >= 3 ? '' : s));

function negationsOf(text: string): string[] {
  const words = (text.toLowerCase().replace(/n['’]t\b/g, ' not').replace(/\bcannot\b/g, 'can not').match(WORD) ?? []).map(bare);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (!NEGATION_CUES.has(words[i]!)) continue;
    let j = i + 1;
    while (j < words.length && (NEGATION_FILLERS.has(words[j]!) || NEGATION_CUES.has(words[j]!))) j++;
    out.push(j < words.length ? stem(words[j]!) : '∅');
  }
  return out.sort();
}

/** Whether the word at `at` starts a sentence (or a line, a message, a clause after a colon). */
function atSentenceStart(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && /[\s"'“‘(\[{\-*•>]/u.test(text[i]!)) {
    if (text[i] === '\n') return true;
    i--;
  }
  if (i < 0) return true;
  const c = text[i]!;
  if (c === ':' || c === ';' || c === '!' || c === '?') return true;
  if (c !== '.') return false;
  const before = /([\p{L}.]+)\.$/u.exec(text.slice(Math.max(0, i - 12), i + 1));
  return !(before && ABBREVIATIONS.has(before[1]!.toLowerCase()));
}

/** Mostly capitals: every word would look like an acronym, so capitals say nothing about names. */
function shouted(text: string): boolean {
  const upper = text.match(/\p{Lu}/gu)?.length ?? 0;
  const lower = text.match(/\p{Ll}/gu)?.length ?? 0;
  return upper > 12 && upper > 2 * lower;
}

function namesOf(text: string): string[] {
  const out: string[] = [];
  // The other text's names are still looked for in this one's words.
  if (shouted(text)) return out;
  for (const m of text.matchAll(WORD)) {
    const w = bare(m[0]);
    if (!/\p{Lu}/u.test(w) || /^\p{N}/u.test(w) || /^I(?:['’]\p{L}+)?$/u.test(w)) continue;
    const acronym = w.length >= 2 && w === w.toUpperCase() && /\p{L}{2}/u.test(w);
    const camel = /\p{Ll}\p{Lu}/u.test(w);
    if (acronym || camel || !atSentenceStart(text, m.index)) out.push(w);
  }
  return out;
}

export function promptFacts(text: string): PromptFacts {
  const { identifiers, rest: noIds } = identifiersOf(text);
  const { dates, rest } = datesOf(noIds);
  return {
    negations: negationsOf(text),
    quotes: quotesOf(text),
    dates,
    numbers: numbersOf(rest),
    identifiers,
    names: namesOf(noIds),
    words: new Set((text.toLowerCase().match(WORD) ?? []).map(bare)),
  };
}

/** The first item of `a` (a sorted multiset) that `b` lacks, or undefined when they are equal. */
function multisetDiff(a: string[], b: string[]): { only: string; inFirst: boolean } | undefined {
  const counts = new Map<string, number>();
  for (const x of a) counts.set(x, (counts.get(x) ?? 0) + 1);
  for (const x of b) counts.set(x, (counts.get(x) ?? 0) - 1);
  for (const [x, n] of counts) if (n !== 0) return { only: x, inFirst: n > 0 };
  return undefined;
}

function compareLists(reason: GuardReason, label: string, a: string[], b: string[]): GuardRefusal | undefined {
  const d = multisetDiff(a, b);
  if (!d) return undefined;
  return { reason, detail: `${label} ${JSON.stringify(d.only)} ${d.inFirst ? 'in the new prompt only' : 'in the cached prompt only'}${a.length !== b.length ? ` (${a.length} vs ${b.length})` : ''}` };
}

/**
 * Why `query` may not reuse the answer of `cached`, or undefined when the guard sees no
 * difference that matters. Symmetric: it refuses (a, b) exactly when it refuses (b, a).
 */
export function guardRefusal(query: string | PromptFacts, cached: string | PromptFacts): GuardRefusal | undefined {
  const a = typeof query === 'string' ? promptFacts(query) : query;
  const b = typeof cached === 'string' ? promptFacts(cached) : cached;
  const negated = (xs: string[]): string[] => xs.map((x) => `not ${x}`);
  const listed = compareLists('quote', 'quoted string', a.quotes, b.quotes)
    ?? compareLists('negation', 'negation', negated(a.negations), negated(b.negations))
    ?? compareLists('date', 'date or time', a.dates, b.dates)
    ?? compareLists('number', 'number', a.numbers, b.numbers)
    ?? compareLists('entity', 'identifier', a.identifiers, b.identifiers);
  if (listed) return listed;
  for (const [names, other, where] of [[a.names, b.words, 'new'], [b.names, a.words, 'cached']] as const) {
    for (const n of names) if (!other.has(n.toLowerCase())) return { reason: 'entity', detail: `name ${JSON.stringify(n)} in the ${where} prompt only` };
  }
  return undefined;
}
