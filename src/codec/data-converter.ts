// The data converter of every Temporal client and worker of the project: encrypting when a
// key is configured (see keys.ts), otherwise plain but refusing encrypted payloads clearly.
// Search attributes never pass through codecs: Temporal must read them to list runs.
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec, MissingKeyCodec } from './encryption-codec.ts';
import { keyRingFromEnv, type KeyRing } from './keys.ts';

/** The module with the failure converter that encodes messages and stack traces. */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.ts', import.meta.url));

export function dataConverterFor(ring: KeyRing | undefined): DataConverter {
  if (!ring) return { payloadCodecs: [new MissingKeyCodec()] };
  return { payloadCodecs: [new EncryptionCodec(ring)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/**
 * What a process uses: `ring` when given (tests), none when given `null`, else the
 * environment's LLM_BATCH_ENCRYPTION_KEY / LLM_BATCH_ENCRYPTION_KEY_FILE.
 */
export function resolveKeyRing(ring?: KeyRing | null): KeyRing | undefined {
  return ring === null ? undefined : (ring ?? keyRingFromEnv());
}
