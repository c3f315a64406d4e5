// The emulator's embedding of a text: lexical, so that similar texts are near and unrelated
// ones far, as with a real embedding model (the tests of the semantic cache then mean
// something), yet deterministic and free.
//
// Features (feature hashing, "the hashing trick"):
// - word unigrams, weight 1 (0.25 for a short list of function words, as a trained model
//   learns to give them little weight);
// - word bigrams, weight 0.6: word order and local context ("not slow" ≠ "slow");
// - character trigrams of each word with boundary marks, weight 0.25 in all per word:
//   "refund" and "refunds" share most of theirs.
// Each feature's weight is scaled by 1 + ln(tf) (sublinear term frequency) and added, with a
// hashed sign, to a hashed bucket. Every feature is hashed at three resolutions (64 and 256
// buckets, then the model's native dimensions) so that any prefix of the vector still carries
// the text: OpenAI documents that a shortened embedding (`dimensions`) is the full one cut
// and renormalised, and callers rely on prefixes of 64 and more remaining usable.
// The model name seeds the hashes: two models give unrelated vectors for the same text.
import { hash32 } from '../domain/hash32.ts';

const FUNCTION_WORDS = new Set(
  'a an the and or but of to in on at for with by from as is are was were be been being it its this that these those i me my we us our you your he she they them their there here do does did has have had will would can could should may might shall am so if then than too very just also about into over after before up out'.split(' '),
);

const UNIGRAM = 1;
const BIGRAM = 0.6;
const TRIGRAMS_PER_WORD = 0.25;
const FUNCTION_WORD = 0.25;

/** The resolutions (bucket counts) a feature is hashed at, each with its share of the weight. */
function scales(native: number): { buckets: number; weight: number }[] {
  const out = [64, 256].filter((b) => b < native).map((buckets, i) => ({ buckets, weight: i === 0 ? 0.35 : 0.5 }));
  out.push({ buckets: native, weight: 1 });
  return out;
}


/** Lower-cased words (letters and digits) of a text; an input given as token ids uses the ids. */
export function words(input: string | number[]): string[] {
  if (typeof input !== 'string') return input.map((t) => `#${t}`);
  return input.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Every feature of the text with its summed weight (before term-frequency scaling). */
export function lexicalFeatures(input: string | number[]): Map<string, { weight: number; tf: number }> {
  const features = new Map<string, { weight: number; tf: number }>();
  const add = (key: string, weight: number): void => {
    const f = features.get(key);
    if (f) f.tf++;
    else features.set(key, { weight, tf: 1 });
  };
  const ws = words(input);
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    add(`u:${w}`, FUNCTION_WORDS.has(w) ? UNIGRAM * FUNCTION_WORD : UNIGRAM);
    if (i > 0) add(`b:${ws[i - 1]} ${w}`, BIGRAM);
    if (typeof input === 'string' && w.length > 2 && !FUNCTION_WORDS.has(w)) {
      const marked = `<${w}>`;
      const n = marked.length - 2;
      for (let j = 0; j < n; j++) add(`c:${marked.slice(j, j + 3)}`, TRIGRAMS_PER_WORD / n);
    }
  }
  return features;
}

/** The unit vector of a text in `native` dimensions (a float32 array, so float and base64 answers agree). */
export function lexicalEmbedding(model: string, input: string | number[], native: number): Float32Array {
  const seed = hash32(model, 0x5eed);
  const v = new Float64Array(native);
  const levels = scales(native);
  for (const [key, { weight, tf }] of lexicalFeatures(input)) {
    const w = weight * (1 + Math.log(tf));
    for (let s = 0; s < levels.length; s++) {
      const { buckets, weight: share } = levels[s]!;
      const h = hash32(key, seed + s * 0x9e3779b9);
      const sign = hash32(key, seed ^ (0x7f4a7c15 + s)) & 1 ? 1 : -1;
      v[h % buckets] += sign * w * share;
    }
  }
  let norm = 0;
  for (let i = 0; i < native; i++) norm += v[i]! * v[i]!;
  const out = new Float32Array(native);
  if (norm === 0) {
    // An input with no words (empty, punctuation only) still gets a unit vector, its own.
    out[hash32(typeof input === 'string' ? input : JSON.stringify(input), seed) % native] = 1;
    return out;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < native; i++) out[i] = v[i]! / norm;
  return out;
}
