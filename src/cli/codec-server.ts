// `llm-batch codec-server`: decrypts payloads for the Temporal Web UI and CLI (and encrypts
// what they send), with the keys of LLM_BATCH_ENCRYPTION_KEY / LLM_BATCH_ENCRYPTION_KEY_FILE.
import type { Command } from 'commander';
import { EncryptionCodec } from '../codec/encryption-codec.ts';
import { ENCRYPTION_KEY_ENV, ENCRYPTION_KEY_FILE_ENV, KeyConfigError, keyRingFromEnv } from '../codec/keys.ts';
import { DEFAULT_CODEC_PORT, DEFAULT_UI_ORIGINS, startCodecServer } from '../codec/server.ts';
import { untilSignal } from './dev.ts';
import { CliError, EXIT, port } from './options.ts';

export const CODEC_AUTH_TOKEN_ENV = 'LLM_BATCH_CODEC_AUTH_TOKEN';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

interface CodecServerCliOptions {
  host: string;
  port: number;
  uiOrigin?: string[];
  authToken?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function registerCodecServerCommand(program: Command): void {
  program
    .command('codec-server')
    .description(
      `serve /encode and /decode (Temporal's remote codec protocol) so the Temporal Web UI and CLI show encrypted payloads decrypted; ` +
        `keys from ${ENCRYPTION_KEY_ENV} or ${ENCRYPTION_KEY_FILE_ENV}, as for the CLI and workers`,
    )
    .option('--host <host>', 'interface to listen on; anything but loopback requires --auth-token', '127.0.0.1')
    .option('--port <port>', 'port to listen on', port, DEFAULT_CODEC_PORT)
    .option('--ui-origin <origin>', `a browser origin allowed to call it (CORS); repeat for several (default ${DEFAULT_UI_ORIGINS.join(', ')})`, collect)
    .option('--auth-token <token>', `require "Authorization: Bearer <token>" on every request (default $${CODEC_AUTH_TOKEN_ENV}); others get 401`)
    .addHelpText('after', `
Point the Temporal UI at it:
  temporal server start-dev --ui-codec-endpoint http://127.0.0.1:${DEFAULT_CODEC_PORT}
  or in the UI: the "Codec Server" setting (bottom left) → http://127.0.0.1:${DEFAULT_CODEC_PORT}
and the Temporal CLI:
  temporal workflow show -w RUN_ID --codec-endpoint http://127.0.0.1:${DEFAULT_CODEC_PORT} [--codec-auth "Bearer TOKEN"]`)
    .action(async (opts: CodecServerCliOptions) => {
      let ring;
      try {
        ring = keyRingFromEnv();
      } catch (e) {
        if (e instanceof KeyConfigError) throw new CliError(e.message, EXIT.usage);
        throw e;
      }
      if (!ring) throw new CliError(`codec-server needs the keys: set ${ENCRYPTION_KEY_ENV} (ID:BASE64) or ${ENCRYPTION_KEY_FILE_ENV}`, EXIT.usage);
      const authToken = opts.authToken ?? (process.env[CODEC_AUTH_TOKEN_ENV] || undefined);
      if (!authToken && !LOOPBACK.has(opts.host)) {
        throw new CliError(`--host ${opts.host} exposes decryption beyond this machine: give --auth-token (or $${CODEC_AUTH_TOKEN_ENV})`, EXIT.usage);
      }
      const uiOrigins = opts.uiOrigin ?? DEFAULT_UI_ORIGINS;
      const server = await startCodecServer({
        codec: new EncryptionCodec(ring),
        host: opts.host,
        port: opts.port,
        uiOrigins,
        ...(authToken ? { authToken } : {}),
        log: (m) => console.error(`codec-server: ${m}`),
      });
      console.error(
        `codec-server: ${server.url} (keys ${[...ring.keys.keys()].join(', ')}; current ${ring.currentId}), ` +
          `CORS for ${uiOrigins.join(', ')}${authToken ? ', bearer token required' : ''}`,
      );
      const signal = await untilSignal();
      console.error(`codec-server: ${signal}, stopping`);
      await server.close();
    });
}
