// One line of a Batch output or error file, read with its response body kept as the JSON
// text it came in: the store keeps that text and the export splices it back, so the body
// is parsed once (usage has to be read) and never serialised again.
//
// The usual line, {"id":…,"custom_id":…,"response":{"status_code":…,"request_id":…,"body":…},"error":null},
// is split without parsing its head: the head is matched token by token from the line's
// start, the tail `},"error":null}` at its end, and the text between them is the body iff it
// parses as one JSON value (a complete value cannot be followed by `,"key":…` inside the same
// value). Any other line is parsed whole.

export interface OutputLine {
  customId?: string;
  statusCode?: number;
  requestId?: string;
  /** The response body, parsed; undefined when the line has no response. */
  body?: unknown;
  /** The response body's JSON text. */
  bodyJson?: string;
  error?: { code?: string; message?: string } | null;
}

// A JSON string token exactly: no raw control characters, only JSON's escapes.
const STRING = String.raw`"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"`;
// JSON's whitespace only (\s would also take U+00A0 and others JSON.parse refuses).
const W = '[ \\t\\n\\r]*';
const HEAD = new RegExp(
  `^\\{${W}"id"${W}:${W}${STRING}${W},${W}"custom_id"${W}:${W}(${STRING})${W},${W}"response"${W}:${W}\\{${W}"status_code"${W}:${W}(0|[1-9]\\d{0,2})${W},${W}"request_id"${W}:${W}(${STRING}|null)${W},${W}"body"${W}:`,
);
const TAIL = /\}[ \t\n\r]*,[ \t\n\r]*"error"[ \t\n\r]*:[ \t\n\r]*null[ \t\n\r]*\}[ \t\n\r]*$/y;

/** Splits an output line; throws as JSON.parse does on a line that is not JSON. */
export function readOutputLine(text: string): OutputLine {
  const head = HEAD.exec(text);
  if (head) {
    const error = text.lastIndexOf('"error"');
    const close = error < 0 ? -1 : text.lastIndexOf('}', error);
    TAIL.lastIndex = close;
    if (close > head[0].length && TAIL.test(text)) {
      const between = text.slice(head[0].length, close);
      let body: unknown;
      let ok = true;
      try {
        body = JSON.parse(between);
      } catch {
        ok = false;
      }
      if (ok) {
        const line: OutputLine = { customId: JSON.parse(head[1]!) as string, statusCode: Number(head[2]), body, bodyJson: between.trim(), error: null };
        const requestId = JSON.parse(head[3]!) as string | null;
        if (requestId) line.requestId = requestId;
        return line;
      }
    }
  }
  return parsedWhole(text);
}

function parsedWhole(text: string): OutputLine {
  const raw = JSON.parse(text) as {
    custom_id?: unknown;
    response?: { status_code?: number; request_id?: string | null; body?: unknown } | null;
    error?: { code?: string; message?: string } | null;
  };
  const line: OutputLine = { error: raw.error ?? null };
  if (typeof raw.custom_id === 'string') line.customId = raw.custom_id;
  const r = raw.response;
  if (r) {
    if (typeof r.status_code === 'number') line.statusCode = r.status_code;
    if (typeof r.request_id === 'string' && r.request_id) line.requestId = r.request_id;
    if (r.body !== undefined) {
      line.body = r.body;
      line.bodyJson = JSON.stringify(r.body);
    }
  }
  return line;
}
