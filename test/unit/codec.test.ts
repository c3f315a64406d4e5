// The payload codec and its keys: round trips, key ids, rotation, tampering, clear refusals.
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { decryptBytes, EncryptionCodec, encryptBytes, MissingKeyCodec } from '../../src/codec/encryption-codec.ts';
import { envWithoutKeys, KeyConfigError, keyRingFromEnv, parseKeyFile, parseKeySpec, type KeyRing } from '../../src/codec/keys.ts';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const text = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const K1 = randomBytes(32);
const K2 = randomBytes(32);
const ring = (currentId: string, keys: Record<string, Uint8Array>): KeyRing => ({ currentId, keys: new Map(Object.entries(keys)) });
const config = { inputPath: '/data/secret-tickets.jsonl', model: 'gpt-4o-mini', budgetUsd: 40 };

describe('key configuration', () => {
  it('reads ID:BASE64, and BASE64 alone with its fingerprint as the id', () => {
    const withId = parseKeySpec(`2026-12:${b64(K1)}`);
    expect(withId.currentId).toBe('2026-12');
    expect(Buffer.from(withId.keys.get('2026-12')!)).toEqual(K1);
    const bare = parseKeySpec(b64(K1));
    expect(bare.currentId).toMatch(/^sha256-[0-9a-f]{12}$/);
    expect(parseKeySpec(b64(K1)).currentId).toBe(bare.currentId);
    expect(parseKeySpec(b64(K2)).currentId).not.toBe(bare.currentId);
  });

  it('rejects short keys, non-base64 and bad ids without echoing the key', () => {
    const short = b64(randomBytes(16));
    expect(() => parseKeySpec(`k:${short}`)).toThrow(/16 bytes, AES-256 needs 32/);
    try {
      parseKeySpec(`k:${short}`);
    } catch (e) {
      expect((e as Error).message).not.toContain(short);
    }
    expect(() => parseKeySpec('k:not base64!')).toThrow(/not base64/);
    expect(() => parseKeySpec(`bad id:${b64(K1)}`)).toThrow(/a key id must be 1-64 characters/);
    // KEY:ID the wrong way round: the key, taken for an id, is not echoed.
    const reversed = `${b64(K1)}:k1`;
    expect(() => parseKeySpec(reversed)).toThrow(KeyConfigError);
    try {
      parseKeySpec(reversed);
    } catch (e) {
      expect((e as Error).message).not.toContain(b64(K1).slice(0, 20));
    }
  });

  it('reads a key file with a current key, and says what is wrong with a bad one', () => {
    const r = parseKeyFile(JSON.stringify({ current: 'new', keys: { old: b64(K1), new: b64(K2) } }), 'keys.json');
    expect(r.currentId).toBe('new');
    expect([...r.keys.keys()]).toEqual(['old', 'new']);
    expect(() => parseKeyFile(JSON.stringify({ current: 'gone', keys: { old: b64(K1) } }), 'keys.json')).toThrow(/keys.json: "current" is "gone", which is not among the keys \(old\)/);
    expect(() => parseKeyFile(JSON.stringify({ current: 'a', keys: {} }), 'keys.json')).toThrow(/at least one key/);
    const broken = `{"current": "a", "keys": {"a": "${b64(K1)}"`;
    expect(() => parseKeyFile(broken, 'keys.json')).toThrow(KeyConfigError);
    try {
      parseKeyFile(broken, 'keys.json');
    } catch (e) {
      expect((e as Error).message).not.toContain(b64(K1)); // JSON.parse's own message quotes the text
    }
  });

  it('leaves the keys out of the environment of child processes', () => {
    const env = envWithoutKeys({ PATH: '/bin', LLM_BATCH_ENCRYPTION_KEY: 'k:x', LLM_BATCH_ENCRYPTION_KEY_FILE: '/k.json' });
    expect(env).toEqual({ PATH: '/bin' });
  });

  it('takes the key from the environment or a file, not both; none means off', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-batch-keys-'));
    const file = join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify({ current: 'k2', keys: { k1: b64(K1), k2: b64(K2) } }));
    expect(keyRingFromEnv({})).toBeUndefined();
    expect(keyRingFromEnv({ LLM_BATCH_ENCRYPTION_KEY: `k1:${b64(K1)}` })!.currentId).toBe('k1');
    expect(keyRingFromEnv({ LLM_BATCH_ENCRYPTION_KEY_FILE: file })!.currentId).toBe('k2');
    expect(() => keyRingFromEnv({ LLM_BATCH_ENCRYPTION_KEY: `k1:${b64(K1)}`, LLM_BATCH_ENCRYPTION_KEY_FILE: file })).toThrow(/not both/);
    expect(() => keyRingFromEnv({ LLM_BATCH_ENCRYPTION_KEY_FILE: join(dir, 'missing.json') })).toThrow(/cannot read it \(ENOENT\)/);
  });
});

describe('EncryptionCodec', () => {
  it('encrypts the whole payload, metadata included, and decodes it back', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: K1 }));
    const plain = defaultPayloadConverter.toPayload(config);
    const [sealed] = await codec.encode([plain]);
    expect(text(sealed!.metadata!.encoding)).toBe('binary/encrypted');
    expect(text(sealed!.metadata!['encryption-key-id'])).toBe('k1');
    expect(Buffer.from(sealed!.data!).includes('secret-tickets')).toBe(false);
    expect(Buffer.from(sealed!.data!).includes('json/plain')).toBe(false);
    const [back] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(back!)).toEqual(config);
    expect(text(back!.metadata!.encoding)).toBe('json/plain');
  });

  it('uses a fresh IV each time: the same value never encrypts the same way twice', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: K1 }));
    const p = defaultPayloadConverter.toPayload('same');
    const [a, b] = await codec.encode([p, p]);
    expect(b64(a!.data!)).not.toBe(b64(b!.data!));
  });

  it('keeps histories written with an old key readable after rotation', async () => {
    const before = new EncryptionCodec(ring('k1', { k1: K1 }));
    const after = new EncryptionCodec(ring('k2', { k1: K1, k2: K2 }));
    const [old] = await before.encode([defaultPayloadConverter.toPayload(config)]);
    const [fresh] = await after.encode([defaultPayloadConverter.toPayload(config)]);
    expect(text(fresh!.metadata!['encryption-key-id'])).toBe('k2');
    const decoded = await after.decode([old!, fresh!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([config, config]);
    await expect(before.decode([fresh!])).rejects.toThrow(/key "k2", which is not among this process's keys \(k1\)/);
  });

  it('refuses an altered payload and a wrong key of the same id', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: K1 }));
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(config)]);
    const altered: Payload = { ...sealed!, data: Uint8Array.from(sealed!.data!, (b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(codec.decode([altered])).rejects.toThrow(/does not decrypt.*altered/);
    const impostor = new EncryptionCodec(ring('k1', { k1: K2 }));
    await expect(impostor.decode([sealed!])).rejects.toThrow(/does not decrypt/);
  });

  it('passes plain payloads (written before encryption was on) through', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: K1 }));
    const plain = defaultPayloadConverter.toPayload({ a: 1 });
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('has the wire layout of Temporal\'s sample (IV ‖ ciphertext ‖ tag): WebCrypto AES-GCM reads it', async () => {
    const sealed = encryptBytes(Buffer.from('hello'), K1);
    const key = await webcrypto.subtle.importKey('raw', K1, { name: 'AES-GCM' }, false, ['decrypt']);
    const plain = await webcrypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.subarray(0, 12), tagLength: 128 }, key, sealed.subarray(12));
    expect(Buffer.from(plain).toString()).toBe('hello');
    expect(Buffer.from(decryptBytes(sealed, K1)).toString()).toBe('hello');
  });
});

describe('MissingKeyCodec (a process without a key)', () => {
  it('leaves its own payloads plain and refuses encrypted ones, saying which key and what to set', async () => {
    const none = new MissingKeyCodec();
    const plain = defaultPayloadConverter.toPayload({ a: 1 });
    expect(await none.encode([plain])).toEqual([plain]);
    expect(await none.decode([plain])).toEqual([plain]);
    const [sealed] = await new EncryptionCodec(ring('k1', { k1: K1 })).encode([plain]);
    await expect(none.decode([plain, sealed!])).rejects.toThrow(/encrypted \(key "k1"\) and this process has no key: set LLM_BATCH_ENCRYPTION_KEY/);
  });
});
