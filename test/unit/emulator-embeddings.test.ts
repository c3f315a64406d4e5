// The emulator's embeddings carry lexical similarity: rewordings are near, unrelated texts
// far, deterministically; shortened vectors are prefixes of the full one, renormalised.
import { describe, expect, it } from 'vitest';
import { buildEmbeddings, embedVector, validateEmbeddingsRequest } from '../../src/emulator/embeddings.ts';

const cos = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const norm = (v: ArrayLike<number>): number => Math.sqrt(cos(v, v));
const small = (text: string, dims = 1536) => embedVector('text-embedding-3-small', text, dims);

const ticket = 'hi, the mobile app keeps logging me out every few minutes. we noticed it on 5 november around 16:00.';
const reworded = 'hi, the mobile application keeps signing me out every few minutes. we saw it on 5 november around 16:00.';
const reordered = 'we noticed it on 5 november around 16:00. hi, the mobile app keeps logging me out every few minutes.';
const unrelated = [
  'please translate this recipe for apple pie into french and keep the measurements metric.',
  'write a haiku about the autumn sea at dawn.',
  'what is the capital of australia and how many people live there?',
  'summarise the attached quarterly earnings report for the board.',
];

describe('emulator embeddings', () => {
  it('are unit vectors, the same for the same text and model every time', () => {
    const v = small(ticket);
    expect(v).toHaveLength(1536);
    expect(norm(v)).toBeCloseTo(1, 5);
    expect(small(ticket)).toEqual(v);
    expect(embedVector('text-embedding-3-large', ticket, 3072)).toHaveLength(3072);
  });

  it('put rewordings near and unrelated texts far', () => {
    const v = small(ticket);
    const sims = { reworded: cos(v, small(reworded)), reordered: cos(v, small(reordered)), unrelated: unrelated.map((u) => cos(v, small(u))) };
    expect(sims.reordered).toBeGreaterThan(0.9);
    expect(sims.reworded).toBeGreaterThan(0.6);
    for (const s of sims.unrelated) expect(s).toBeLessThan(0.35);
    // Ordering: the closer the wording, the higher the similarity.
    expect(cos(v, small(ticket.replace('5 november', '6 november')))).toBeGreaterThan(sims.reworded);
    expect(sims.reworded).toBeGreaterThan(Math.max(...sims.unrelated) + 0.3);
    // Unrelated texts are far from each other too.
    for (let i = 1; i < unrelated.length; i++) expect(cos(small(unrelated[0]!), small(unrelated[i]!))).toBeLessThan(0.35);
  });

  it('weigh content words over function words, and word order through bigrams', () => {
    const v = small('the invoice export is broken');
    expect(cos(v, small('invoice export broken'))).toBeGreaterThan(cos(v, small('the report is broken')));
    expect(cos(small('dog bites man'), small('man bites dog'))).toBeLessThan(0.95);
  });

  it('differ by model, so two models never share a space', () => {
    expect(Math.abs(cos(small(ticket), embedVector('text-embedding-ada-002', ticket, 1536)))).toBeLessThan(0.2);
  });

  it('shortened to `dimensions`, are the renormalised prefix of the full vector and keep the similarity', () => {
    const full = small(ticket);
    for (const d of [64, 256, 512]) {
      const short = small(ticket, d);
      expect(norm(short)).toBeCloseTo(1, 5);
      const prefix = full.slice(0, d);
      const n = norm(prefix);
      for (let i = 0; i < d; i++) expect(short[i]).toBeCloseTo(prefix[i]! / n, 6);
      expect(cos(short, small(reordered, d))).toBeGreaterThan(0.85);
      for (const u of unrelated) expect(cos(short, small(u, d))).toBeLessThan(0.5);
    }
  });

  it('answer every input of a request, as float or base64 of the same float32 values, with usage', () => {
    const v = validateEmbeddingsRequest({ model: 'text-embedding-3-small', input: [ticket, reworded], dimensions: 256 });
    if (!v.ok) throw new Error('invalid');
    const body = buildEmbeddings(v.req);
    expect(body.data.map((d) => d.index)).toEqual([0, 1]);
    expect(body.usage.prompt_tokens).toBeGreaterThan(20);
    const asFloat = body.data[0]!.embedding as number[];
    expect(asFloat).toEqual(Array.from(small(ticket, 256)));
    const b64 = buildEmbeddings({ ...v.req, encoding_format: 'base64' }).data[0]!.embedding as string;
    const bytes = Buffer.from(b64, 'base64');
    expect(Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4))).toEqual(asFloat);
  });

  it('embed token-id inputs and word-less inputs deterministically', () => {
    const ids = embedVector('text-embedding-3-small', [1, 2, 3, 4], 1536);
    expect(norm(ids)).toBeCloseTo(1, 5);
    expect(cos(ids, embedVector('text-embedding-3-small', [1, 2, 3, 5], 1536))).toBeGreaterThan(0.5);
    expect(norm(small('...'))).toBeCloseTo(1, 5);
    expect(small('...')).toEqual(small('...'));
  });
});
