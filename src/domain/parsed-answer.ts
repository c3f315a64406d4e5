// `results --parsed`: a succeeded item's answer as a flat record for a data frame,
// `{custom_id, ...fields of the parsed JSON answer}`. Pure.
import { answerMessageOf } from './response-schema.ts';

/** The record of one success: the JSON object answer's fields, `value` for other JSON, `content` for text. */
export function parsedRecord(customId: string, responseBody: unknown): Record<string, unknown> {
  const message = answerMessageOf(responseBody);
  const content = 'content' in message ? message.content : null;
  let parsed: unknown;
  try {
    parsed = content === null ? undefined : JSON.parse(content);
  } catch {
    parsed = undefined;
  }
  const record: Record<string, unknown> = { custom_id: customId };
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(record, parsed, { custom_id: customId });
  else if (parsed !== undefined) record.value = parsed;
  else record.content = content;
  return record;
}

/** A value as a CSV cell: text as it is, numbers and booleans written out, null empty, objects and arrays as JSON. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}
