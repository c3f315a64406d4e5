// readOutputLine: the body's text split off the usual line unparsed, the same fields as a full parse otherwise.
import { describe, expect, it } from 'vitest';
import { readOutputLine } from '../../src/domain/batch-output.ts';

const body = { id: 'chatcmpl-1', model: 'gpt-4o-mini', choices: [{ message: { content: 'a "quoted" }, "error": null} \\ é' } }], usage: { prompt_tokens: 3 } };
const usual = (customId: string, b: string = JSON.stringify(body)): string =>
  `{"id":"batch_req_1","custom_id":${JSON.stringify(customId)},"response":{"status_code":200,"request_id":"req_1","body":${b}},"error":null}`;

describe('readOutputLine', () => {
  it('splits the usual line: custom_id, status, request id, and the body text as it came', () => {
    const spaced = '{ "a" : [1, 2] ,"b": "\\u00e9" }';
    expect(readOutputLine(usual('c"1\\', spaced))).toEqual({ customId: 'c"1\\', statusCode: 200, requestId: 'req_1', body: { a: [1, 2], b: 'é' }, bodyJson: spaced, error: null });
    expect(readOutputLine(usual('c1')).bodyJson).toBe(JSON.stringify(body));
    // OpenAI's own files put spaces after colons and commas.
    const python = `{"id": "batch_req_1", "custom_id": "c2", "response": {"status_code": 400, "request_id": "r", "body": {"error": {"code": "bad"}}}, "error": null}`;
    expect(readOutputLine(python)).toEqual({ customId: 'c2', statusCode: 400, requestId: 'r', body: { error: { code: 'bad' } }, bodyJson: '{"error": {"code": "bad"}}', error: null });
  });

  it('reads any other line whole, with the same fields', () => {
    const cases: string[] = [
      // more keys after the body: the text before the tail is not one value
      `{"id":"b","custom_id":"c3","response":{"status_code":200,"request_id":"r","body":{"x":1},"extra":{"y":2}},"error":null}`,
      // keys in another order
      `{"custom_id":"c4","id":"b","response":{"body":{"x":1},"status_code":200,"request_id":"r"},"error":null}`,
      // no response, an error
      `{"id":"b","custom_id":"c5","response":null,"error":{"code":"batch_expired","message":"late"}}`,
      // a request id that is null
      `{"id":"b","custom_id":"c6","response":{"status_code":500,"request_id":null,"body":{"error":{"message":"boom"}}},"error":null}`,
    ];
    for (const text of cases) {
      const raw = JSON.parse(text) as { custom_id: string; response: { status_code: number; request_id: string | null; body: unknown } | null; error: unknown };
      const line = readOutputLine(text);
      expect(line.customId).toBe(raw.custom_id);
      expect(line.statusCode).toBe(raw.response?.status_code);
      expect(line.requestId).toBe(raw.response?.request_id ?? undefined);
      expect(line.body).toEqual(raw.response?.body);
      expect(line.bodyJson === undefined ? undefined : JSON.parse(line.bodyJson)).toEqual(raw.response?.body);
      expect(line.error).toEqual(raw.error);
    }
  });

  it('throws on a line that is not JSON, as JSON.parse does', () => {
    expect(() => readOutputLine(usual('c7', '{"a":1'))).toThrow();
    expect(() => readOutputLine(usual('c8', '\u00a0{"a":1}'))).toThrow();
    expect(() => readOutputLine('not json')).toThrow();
  });
});
