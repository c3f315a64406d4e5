// The payload codec: AES-256-GCM over the whole serialized payload (its metadata too), as in
// Temporal's encryption sample (samples-typescript/encryption), with the same wire layout
// (12-byte IV, ciphertext, 16-byte tag) and metadata: encoding "binary/encrypted" and the
// id of the key in "encryption-key-id", so a history stays readable after the key rotates.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { ENCRYPTION_KEY_ENV, ENCRYPTION_KEY_FILE_ENV, type KeyRing } from './keys.ts';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
// A CommonJS module whose named exports Node cannot detect: read through its default export.
const { temporal } = proto;
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
const IV_BYTES = 12;
const TAG_BYTES = 16;

const isEncrypted = (p: Payload): boolean => {
  const enc = p.metadata?.[METADATA_ENCODING_KEY];
  return enc !== undefined && enc !== null && decode(enc) === ENCRYPTED_ENCODING;
};

const keyIdOf = (p: Payload): string | undefined => {
  const id = p.metadata?.[METADATA_KEY_ID];
  return id ? decode(id) : undefined;
};

export function encryptBytes(plain: Uint8Array, key: Uint8Array): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

export function decryptBytes(sealed: Uint8Array, key: Uint8Array): Uint8Array {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new ValueError('encrypted payload is too short to hold an IV and a tag');
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

export class EncryptionCodec implements PayloadCodec {
  private readonly ring: KeyRing;

  constructor(ring: KeyRing) {
    this.ring = ring;
  }

  get currentKeyId(): string {
    return this.ring.currentId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.ring.keys.get(this.ring.currentId)!;
    return payloads.map((payload) => ({
      metadata: { [METADATA_ENCODING_KEY]: encode(ENCRYPTED_ENCODING), [METADATA_KEY_ID]: encode(this.ring.currentId) },
      data: encryptBytes(temporal.api.common.v1.Payload.encode(payload).finish(), key),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Payloads written before encryption was turned on stay readable as they are.
      if (!isEncrypted(payload)) return payload;
      const keyId = keyIdOf(payload);
      if (!keyId) throw new ValueError('encrypted payload without an encryption-key-id: cannot tell which key decrypts it');
      const key = this.ring.keys.get(keyId);
      if (!key) {
        throw new ValueError(
          `payload encrypted with key "${keyId}", which is not among this process's keys (${[...this.ring.keys.keys()].join(', ')}); ` +
            `add it to ${ENCRYPTION_KEY_FILE_ENV} to read histories written with it`,
        );
      }
      if (!payload.data) throw new ValueError('encrypted payload has no data');
      let plain: Uint8Array;
      try {
        plain = decryptBytes(payload.data, key);
      } catch {
        throw new ValueError(`payload encrypted with key "${keyId}" does not decrypt with this process's key of that id (wrong key, or the payload was altered)`);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/**
 * The codec of a process without a key: writes payloads as they are, and refuses encrypted
 * ones with a message that says what to do, rather than the SDK's "Unknown encoding".
 */
export class MissingKeyCodec implements PayloadCodec {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    const sealed = payloads.find(isEncrypted);
    if (sealed) {
      throw new ValueError(
        `this payload is encrypted (key "${keyIdOf(sealed) ?? 'unknown'}") and this process has no key: ` +
          `set ${ENCRYPTION_KEY_ENV} (or ${ENCRYPTION_KEY_FILE_ENV}) in its environment, with the key the run was started with, and start it again`,
      );
    }
    return payloads;
  }
}
