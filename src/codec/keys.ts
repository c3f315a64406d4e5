// The encryption keys of the payload codec, from the environment: one key in
// LLM_BATCH_ENCRYPTION_KEY ("ID:BASE64", or BASE64 alone, whose id is then its fingerprint),
// or several in the JSON file named by LLM_BATCH_ENCRYPTION_KEY_FILE, one of them current:
//   {"current": "2026-12", "keys": {"2026-06": "BASE64...", "2026-12": "BASE64..."}}
// New payloads are encrypted with the current key; the others still decrypt old histories,
// which is how a key is rotated. Error messages name the source, never the key material.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const ENCRYPTION_KEY_ENV = 'LLM_BATCH_ENCRYPTION_KEY';
export const ENCRYPTION_KEY_FILE_ENV = 'LLM_BATCH_ENCRYPTION_KEY_FILE';

/** AES-256: 32 bytes. */
export const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface KeyRing {
  /** The id new payloads are encrypted with. */
  currentId: string;
  keys: ReadonlyMap<string, Uint8Array>;
}

export class KeyConfigError extends Error {}

/** A key id for a key given without one: stable, and revealing nothing useful about the key. */
export const keyFingerprint = (key: Uint8Array): string => `sha256-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;

function decodeKey(base64: string, where: string): Uint8Array {
  const trimmed = base64.trim();
  if (!BASE64.test(trimmed)) throw new KeyConfigError(`${where}: the key is not base64 (generate one with: openssl rand -base64 32)`);
  const key = new Uint8Array(Buffer.from(trimmed, 'base64'));
  if (key.length !== KEY_BYTES) {
    throw new KeyConfigError(`${where}: the key is ${key.length} bytes, AES-256 needs ${KEY_BYTES} (generate one with: openssl rand -base64 32)`);
  }
  return key;
}

function checkId(id: string, where: string): string {
  // Not echoed: an id that is not one may be a key typed in the wrong place.
  if (!KEY_ID.test(id)) throw new KeyConfigError(`${where}: a key id must be 1-64 characters of A-Z a-z 0-9 . _ - (the format is ID:BASE64)`);
  return id;
}

/** The environment without the keys, for child processes that have no use for them (the Temporal server). */
export function envWithoutKeys(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { [ENCRYPTION_KEY_ENV]: _key, [ENCRYPTION_KEY_FILE_ENV]: _file, ...rest } = env;
  return rest;
}

/** "ID:BASE64" or "BASE64" (id = fingerprint). */
export function parseKeySpec(spec: string, where = ENCRYPTION_KEY_ENV): KeyRing {
  const colon = spec.indexOf(':');
  const id = colon >= 0 ? checkId(spec.slice(0, colon).trim(), where) : undefined;
  const key = decodeKey(colon >= 0 ? spec.slice(colon + 1) : spec, where);
  const keyId = id ?? keyFingerprint(key);
  return { currentId: keyId, keys: new Map([[keyId, key]]) };
}

/** The key file's JSON text; `where` names the file in errors. */
export function parseKeyFile(text: string, where: string): KeyRing {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text, which holds keys.
    throw new KeyConfigError(`${where}: not valid JSON; expected {"current": "ID", "keys": {"ID": "BASE64", ...}}`);
  }
  const { current, keys } = (doc ?? {}) as { current?: unknown; keys?: unknown };
  if (typeof current !== 'string') throw new KeyConfigError(`${where}: "current" must be the id of the key that encrypts new payloads`);
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys) || Object.keys(keys).length === 0) {
    throw new KeyConfigError(`${where}: "keys" must be an object of key id → base64 key, with at least one key`);
  }
  const ring = new Map<string, Uint8Array>();
  for (const [id, value] of Object.entries(keys)) {
    checkId(id, `${where}: keys`);
    if (typeof value !== 'string') throw new KeyConfigError(`${where}: keys.${id} must be a base64 string`);
    ring.set(id, decodeKey(value, `${where}: keys.${id}`));
  }
  if (!ring.has(current)) throw new KeyConfigError(`${where}: "current" is "${current.slice(0, 64)}", which is not among the keys (${[...ring.keys()].join(', ')})`);
  return { currentId: current, keys: ring };
}

/** The key ring from the environment, or undefined when encryption is off. */
export function keyRingFromEnv(env: NodeJS.ProcessEnv = process.env): KeyRing | undefined {
  const spec = env[ENCRYPTION_KEY_ENV];
  const file = env[ENCRYPTION_KEY_FILE_ENV];
  if (spec && file) throw new KeyConfigError(`set ${ENCRYPTION_KEY_ENV} or ${ENCRYPTION_KEY_FILE_ENV}, not both`);
  if (spec) return parseKeySpec(spec);
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeyConfigError(`${ENCRYPTION_KEY_FILE_ENV}=${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseKeyFile(text, file);
}
