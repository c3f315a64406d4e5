// Provider prompt caching seen from the input: the domain rules (domain/prompt-prefix.ts) on
// synthetic checkpoints and layouts, and on real requests through their fingerprints
// (llm/prompt-fingerprint.ts, the model's own tokenizer).
import { describe, expect, it } from 'vitest';
import {
  cacheableTokens,
  checkpointLengths,
  layoutWarning,
  PrefixCacheEligibility,
  promptParts,
  PromptLayoutCheck,
  type MessageLayout,
} from '../../src/domain/prompt-prefix.ts';
import { countAndFingerprint, promptFingerprint } from '../../src/llm/prompt-fingerprint.ts';
import { countChatPromptTokens, countRequestPromptTokens } from '../../src/llm/tokens.ts';

const MODEL = 'gpt-4o-mini';
const url = '/v1/chat/completions';
const GUIDE = 'Answer from the returns policy: refunds within thirty days, store credit after that, receipts required for every claim. '.repeat(60);
const DOCS = ['alpha', 'bravo', 'charlie'].map((d) => `Document ${d}: ` + `The ${d} shipment left the depot on time and reached the customer in good order. `.repeat(80));
const body = (messages: { role: string; content: string }[]) => ({ model: MODEL, messages });

describe('cacheable tokens and checkpoints', () => {
  it('nothing under 1,024 tokens, then 128-token steps', () => {
    expect(cacheableTokens(1023)).toBe(0);
    expect(cacheableTokens(1024)).toBe(1024);
    expect(cacheableTokens(1151)).toBe(1024);
    expect(cacheableTokens(1152)).toBe(1152);
    expect(checkpointLengths(1000)).toEqual([]);
    expect(checkpointLengths(1300)).toEqual([1024, 1152, 1280]);
  });

  it('sees a chat prompt as its messages in order, text parts joined; other endpoints have none', () => {
    expect(promptParts(url, { model: MODEL, messages: [{ role: 'system', content: 'a' }, { role: 'user', name: 'x', content: [{ type: 'text', text: 'b' }, { type: 'text', text: 'c' }] }] }))
      .toEqual([{ role: 'system', text: 'a' }, { role: 'user', name: 'x', text: 'bc' }]);
    expect(promptParts('/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' })).toBeUndefined();
  });
});

describe('PrefixCacheEligibility', () => {
  it('counts (n − 1) × the common prefix per group, in 128-token steps from 1,024', () => {
    const e = new PrefixCacheEligibility();
    e.add({ checkpoints: ['g', 'a1', 'a2'] });
    e.add({ checkpoints: ['g', 'a1', 'a2', 'a3'] });
    e.add({ checkpoints: ['g', 'a1', 'b2'] }); // shares 1,152 with the others
    e.add({ checkpoints: ['h', 'x'] }); // alone
    e.add(undefined); // under 1,024 tokens
    expect(e.result()).toEqual({ eligibleCachedTokens: 2 * 1152, items: 5, groupedItems: 3, groups: 1, approximate: false });
  });

  it('keeps memory bounded: past the cap, groups of one are forgotten and the count says it is approximate', () => {
    const e = new PrefixCacheEligibility(3);
    e.add({ checkpoints: ['g'] });
    e.add({ checkpoints: ['g'] });
    for (const k of ['a', 'b', 'c']) e.add({ checkpoints: [k] });
    e.add({ checkpoints: ['g'] });
    expect(e.result()).toMatchObject({ eligibleCachedTokens: 2 * 1024, groups: 1, approximate: true });
  });

  it('on real requests: tasks on the same long document form one group each', () => {
    const e = new PrefixCacheEligibility();
    const groups = new Set<string>();
    for (const doc of DOCS) {
      for (const task of ['Summarise it.', 'List the dates.', 'Name the customer.']) {
        const b = body([{ role: 'system', content: 'You read shipping documents.' }, { role: 'user', content: `${doc}\n\nTask: ${task}` }]);
        const fp = promptFingerprint(url, b, countChatPromptTokens(MODEL, b.messages))!;
        expect(fp.prefix.checkpoints.length).toBe(checkpointLengths(countChatPromptTokens(MODEL, b.messages)).length);
        groups.add(fp.group);
        e.add(fp.prefix);
      }
    }
    expect(groups.size).toBe(3);
    const r = e.result();
    expect(r).toMatchObject({ groups: 3, groupedItems: 9 });
    // Each group shares its system message and document: (3 − 1) × that prefix, in 128-token steps.
    const shared = countChatPromptTokens(MODEL, [{ role: 'system', content: 'You read shipping documents.' }, { role: 'user', content: `${DOCS[0]}\n\nTask: ` }]) - 3;
    expect(r.eligibleCachedTokens).toBeLessThanOrEqual(3 * 2 * cacheableTokens(shared));
    expect(r.eligibleCachedTokens).toBeGreaterThan(3 * 2 * (cacheableTokens(shared) - 128 * 2));
  });

  it('counts exactly the tokens countRequestPromptTokens counts, tokenizing once, short or long, any text', () => {
    const bodies = [
      body([{ role: 'user', content: 'hello' }]),
      body([{ role: 'user', content: '日本語のチケット🚀'.repeat(40) }]), // short in characters, long in tokens
      { model: MODEL, messages: [{ role: 'system', content: GUIDE }, { role: 'user', name: 'ana', content: [{ type: 'text', text: 'déjà ' }, { type: 'text', text: 'vu' }] }, { role: 'assistant', content: null }] },
      { model: 'gpt-4', messages: [{ role: 'system', content: GUIDE }] }, // another encoding
    ];
    for (const b of bodies) {
      const r = countAndFingerprint(url, b);
      expect(r.promptTokens).toBe(countRequestPromptTokens(url, b));
      expect(r.fingerprint === undefined).toBe(r.promptTokens < 1024);
      if (r.fingerprint) expect(r.fingerprint).toEqual(promptFingerprint(url, b));
    }
    expect(countAndFingerprint('/v1/embeddings', { model: 'text-embedding-3-small', input: GUIDE })).toEqual({ promptTokens: countRequestPromptTokens('/v1/embeddings', { model: 'text-embedding-3-small', input: GUIDE }) });
  });

  it('gives no fingerprint to short prompts or embeddings', () => {
    expect(promptFingerprint(url, body([{ role: 'user', content: 'hello' }]))).toBeUndefined();
    expect(promptFingerprint('/v1/embeddings', { model: 'text-embedding-3-small', input: GUIDE })).toBeUndefined();
  });
});

const msg = (role: string, hash: string, tokens: number, before: string, tail?: string): MessageLayout => ({ role, hash, tokens, before, ...(tail ? { tail } : {}) });

describe('PromptLayoutCheck', () => {
  it('finds a long shared message after content that differs per line', () => {
    const c = new PromptLayoutCheck();
    c.add(3, [msg('user', 'u1', 20, 'b0'), msg('system', 'S', 1500, 'after-u1')]);
    c.add(8, [msg('user', 'u2', 25, 'b0'), msg('system', 'S', 1500, 'after-u2')]);
    c.add(11, [msg('user', 'u3', 30, 'b0'), msg('system', 'S', 1500, 'after-u3')]);
    expect(c.findings()).toEqual([{ kind: 'static_after_variable', message: 2, role: 'system', tokens: 1500, lines: [3, 8, 11], count: 3 }]);
    expect(c.warnings('in.jsonl')[0]).toMatch(/^in\.jsonl lines 3, 8, 11: message 2 \(system\) is the same 1,500-token text on 3 lines/);
  });

  it('finds a per-line value at the start of a long system prompt', () => {
    const c = new PromptLayoutCheck();
    c.add(1, [msg('system', 'S-ana', 1600, 'b0', 'T'), msg('user', 'q1', 10, 'x1')]);
    c.add(2, [msg('system', 'S-bob', 1600, 'b0', 'T'), msg('user', 'q2', 10, 'x2')]);
    expect(c.findings()).toMatchObject([{ kind: 'variable_head', message: 1, role: 'system', lines: [1, 2], count: 2 }]);
  });

  it('says nothing of a good layout: the shared part first, whatever follows', () => {
    const c = new PromptLayoutCheck();
    for (let line = 1; line <= 5; line++) c.add(line, [msg('system', 'S', 1500, 'b0', 'T'), msg('user', `q${line}`, 1200, 'after-S', `t${line}`)]);
    expect(c.findings()).toEqual([]);
  });

  it('names the first lines and how many more', () => {
    expect(layoutWarning('f.jsonl', { kind: 'variable_head', message: 1, role: 'system', tokens: 1024, lines: [1, 2, 3, 4, 5], count: 42 }))
      .toMatch(/^f\.jsonl lines 1, 2, 3, 4, 5 and 37 more: message 1 \(system\) ends with the same 1,024\+ tokens on 42 lines/);
  });

  it('on real requests: the user message first and the long shared guide after it', () => {
    const c = new PromptLayoutCheck();
    const lines = [4, 9, 16];
    lines.forEach((line, i) => {
      const b = body([{ role: 'user', content: `Customer ${i} asks about order ${100 + i}.` }, { role: 'system', content: GUIDE }]);
      c.add(line, promptFingerprint(url, b)!.layout);
    });
    expect(c.findings()).toMatchObject([{ kind: 'static_after_variable', message: 2, role: 'system', lines }]);
    // The same requests with the guide first: nothing to say.
    const good = new PromptLayoutCheck();
    lines.forEach((line, i) => good.add(line, promptFingerprint(url, body([{ role: 'system', content: GUIDE }, { role: 'user', content: `Customer ${i} asks.` }]))!.layout));
    expect(good.findings()).toEqual([]);
  });

  it('on real requests: a per-line name at the start of the long system prompt', () => {
    const c = new PromptLayoutCheck();
    ['Ana', 'Bob', 'Chloé'].forEach((name, i) => {
      c.add(i + 1, promptFingerprint(url, body([{ role: 'system', content: `You are talking to ${name}. ${GUIDE}` }, { role: 'user', content: 'Can I return it?' }]))!.layout);
    });
    expect(c.findings()).toMatchObject([{ kind: 'variable_head', message: 1, role: 'system', lines: [1, 2, 3], count: 3 }]);
  });
});
