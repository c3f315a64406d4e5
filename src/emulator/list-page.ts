// Cursor pagination as OpenAI's list endpoints do it: `limit` items after the item whose
// id is `after`, in the list's order, with `first_id`, `last_id` and `has_more` — what the
// SDK's CursorPage follows (it asks for the next page with `after` = the last id).
import { invalidRequest, type ErrorAnswer } from './errors.ts';

export interface ListPage<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** Reads `limit` (1..max, default `byDefault`) and `after` from a query string. */
export function pageQuery(query: URLSearchParams, byDefault: number, max: number): { ok: true; limit: number; after?: string } | { ok: false; error: ErrorAnswer } {
  const raw = query.get('limit');
  let limit = byDefault;
  if (raw !== null) {
    limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > max) {
      return { ok: false, error: invalidRequest(`Invalid 'limit': expected an integer between 1 and ${max}, got '${raw}'.`, 'limit', 'invalid_value') };
    }
  }
  const after = query.get('after') ?? undefined;
  return { ok: true, limit, after: after === '' ? undefined : after };
}

/** The page of `items` (already in list order) after `after`; an unknown `after` is a 400. */
export function pageOf<T extends { id: string }>(items: readonly T[], limit: number, after?: string): { ok: true; page: ListPage<T> } | { ok: false; error: ErrorAnswer } {
  let start = 0;
  if (after !== undefined) {
    const i = items.findIndex((it) => it.id === after);
    if (i === -1) return { ok: false, error: invalidRequest(`Invalid 'after': no object with id '${after}' in this list.`, 'after', 'invalid_value') };
    start = i + 1;
  }
  const data = items.slice(start, start + limit);
  return {
    ok: true,
    page: {
      object: 'list',
      data,
      first_id: data.length > 0 ? data[0].id : null,
      last_id: data.length > 0 ? data[data.length - 1].id : null,
      has_more: start + limit < items.length,
    },
  };
}
