// The codec server over real HTTP on loopback: the codec protocol, the bearer token, CORS.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec } from '../../src/codec/encryption-codec.ts';
import { startCodecServer, type RunningCodecServer } from '../../src/codec/server.ts';

const codec = new EncryptionCodec({ currentId: 'k1', keys: new Map([['k1', randomBytes(32)]]) });
const TOKEN = 'test-token-7f3a';
let server: RunningCodecServer;

const asJson = (p: { metadata?: Record<string, Uint8Array | null> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
  data: Buffer.from(p.data!).toString('base64'),
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

beforeAll(async () => {
  server = await startCodecServer({ codec, port: 0, authToken: TOKEN, uiOrigins: ['http://localhost:8233'] });
});
afterAll(() => server.close());

describe('codec server', () => {
  it('decodes what the codec encoded, and encodes what it is given (with the right token: 200)', async () => {
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload({ model: 'gpt-4o-mini' })]);
    const res = await post('/decode', { payloads: [asJson(sealed!)] }, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    const { payloads } = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString())).toEqual({ model: 'gpt-4o-mini' });

    const enc = await post('/encode', { payloads }, { authorization: `Bearer ${TOKEN}` });
    expect(enc.status).toBe(200);
    const sealedJson = ((await enc.json()) as { payloads: { metadata: Record<string, string> }[] }).payloads[0]!;
    expect(Buffer.from(sealedJson.metadata['encryption-key-id']!, 'base64').toString()).toBe('k1');
  });

  it('answers 401 to a wrong or missing token, and does not decode', async () => {
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload('secret')]);
    const attempts: Record<string, string>[] = [{ authorization: 'Bearer wrong' }, { authorization: `Bearer ${TOKEN}x` }, {}];
    for (const headers of attempts) {
      const res = await post('/decode', { payloads: [asJson(sealed!)] }, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.text()).not.toContain('secret');
    }
  });

  it('lets the UI origin through CORS (preflight without the token), and no other origin', async () => {
    const pre = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8233', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/x-namespace/);
    const other = await post('/decode', { payloads: [] }, { origin: 'http://evil.example', authorization: `Bearer ${TOKEN}` });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('says what is wrong with a bad body or a payload it cannot decrypt', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const bad = await post('/decode', { payload: [] }, auth);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/payloads/);
    const foreign = await new EncryptionCodec({ currentId: 'k9', keys: new Map([['k9', randomBytes(32)]]) }).encode([defaultPayloadConverter.toPayload(1)]);
    const res = await post('/decode', { payloads: [asJson(foreign[0]!)] }, auth);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/key "k9"/);
    expect((await post('/other', {}, auth)).status).toBe(404);
  });
});
