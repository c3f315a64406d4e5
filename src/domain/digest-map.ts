// A hash map from 16-byte digests to a small number (the line that first held the digest),
// in flat typed arrays: 20 bytes a slot, at most 3/4 full. The estimate keeps one entry per
// distinct custom_id and one per distinct request body, so for a file of millions of lines
// this is tens of MB where a Set of strings (or of the bodies) would be several times that.
// The digests are already uniformly random, so their first word is the hash. Pure.

const EMPTY = 0;
const MAX_LOAD = 0.75;

export class DigestMap {
  /** Four words per slot: the digest. */
  private keys: Uint32Array;
  /** One word per slot: the value + 1 (0 marks an empty slot). */
  private values: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialSlots = 1 << 12) {
    let slots = 16;
    while (slots < initialSlots) slots *= 2;
    this.keys = new Uint32Array(slots * 4);
    this.values = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  /** Distinct digests held. */
  get size(): number {
    return this.count;
  }

  /** Bytes held by the tables. */
  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  /**
   * The value of the digest in words[at..at+4), if it is held; otherwise stores it with
   * `value` (0 ≤ value < 2³² − 1) and returns undefined.
   */
  getOrAdd(words: Uint32Array, at: number, value: number): number | undefined {
    const slot = this.probe(words, at);
    const v = this.values[slot]!;
    if (v !== EMPTY) return v - 1;
    this.keys.set(words.subarray(at, at + 4), slot * 4);
    this.values[slot] = value + 1;
    if (++this.count > (this.mask + 1) * MAX_LOAD) this.grow();
    return undefined;
  }

  /** Stores `value` for the digest in words[at..at+4), held or not. */
  set(words: Uint32Array, at: number, value: number): void {
    if (this.getOrAdd(words, at, value) !== undefined) this.values[this.probe(words, at)] = value + 1;
  }

  /** The digest's slot, or the empty slot where it would go. */
  private probe(words: Uint32Array, at: number): number {
    const keys = this.keys;
    let slot = words[at]! & this.mask;
    for (;;) {
      if (this.values[slot] === EMPTY) return slot;
      const k = slot * 4;
      if (keys[k] === words[at] && keys[k + 1] === words[at + 1] && keys[k + 2] === words[at + 2] && keys[k + 3] === words[at + 3]) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const slots = (this.mask + 1) * 2;
    this.keys = new Uint32Array(slots * 4);
    this.values = new Uint32Array(slots);
    this.mask = slots - 1;
    for (let s = 0; s < oldValues.length; s++) {
      if (oldValues[s] === EMPTY) continue;
      const slot = this.probe(oldKeys, s * 4);
      this.keys.set(oldKeys.subarray(s * 4, s * 4 + 4), slot * 4);
      this.values[slot] = oldValues[s]!;
    }
  }
}
