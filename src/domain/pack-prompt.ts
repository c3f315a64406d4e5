// The packed request's wording and schema (request packing, --pack N): the items numbered
// in one user message, and an answer schema {results: [{id, answer}]} with the user's
// schema (or a plain string) as `answer`. Also reads such a message back: the emulator
// does, as an instruction-following model would, and the unit tests check the round trip.

/** The json_schema name of a packed request without a schema of the user's. */
export const PACK_SCHEMA_NAME = 'packed_results';
/** Upper bounds, in tokens, of what packing adds: the instruction once, the markers per item, the JSON per result. */
export const PACK_INSTRUCTION_TOKENS = 96;
export const PACK_ITEM_OVERHEAD_TOKENS = 12;
export const PACK_RESULT_OVERHEAD_TOKENS = 16;

const OPEN = (id: number): string => `<request id="${id}">`;
const CLOSE = '</request>';
const ITEM = /<request id="(\d+)">\n([\s\S]*?)\n<\/request>/g;
const BOUND = /Keep each answer within (\d+) tokens\./;

/** A text that would confuse the markers cannot be packed (it is sent alone). */
export const packableText = (text: string): boolean => !text.includes('<request') && !text.includes(CLOSE);

/**
 * The user message of a pack: what to do, then each item's text between numbered markers
 * (ids 1..n in order). `answerTokens`: each item's own output bound, when it has one.
 */
export function packUserMessage(texts: readonly string[], answerTokens: number | undefined): string {
  const head = [
    `Answer each of the ${texts.length} numbered requests below on its own, exactly as you would answer it if it were sent alone after the system prompt.`,
    'Reply with JSON {"results": [{"id": <the request\'s number>, "answer": <its answer>}]}: one result per request, each id once.',
  ];
  if (answerTokens !== undefined) head.push(`Keep each answer within ${answerTokens} tokens.`);
  const body = texts.map((t, i) => `${OPEN(i + 1)}\n${t}\n${CLOSE}`);
  return `${head.join(' ')}\n\n${body.join('\n\n')}`;
}

/** The numbered items of a pack's user message, or undefined when it is not one (ids must run 1..n). */
export function readPackUserMessage(text: string): { items: { id: number; text: string }[]; answerTokens?: number } | undefined {
  const items = [...text.matchAll(ITEM)].map((m) => ({ id: Number(m[1]), text: m[2]! }));
  if (items.length === 0 || items.some((it, i) => it.id !== i + 1)) return undefined;
  const bound = BOUND.exec(text);
  return bound ? { items, answerTokens: Number(bound[1]) } : { items };
}

const STRING_ANSWER = { type: 'string' } as const;

// Definitions a schema's `$ref`s point at (`#/$defs/x`): they must stay at the root of the pack's schema.
const DEFS = ['$defs', 'definitions'] as const;

/**
 * The strict schema of a pack's answer: {results: [{id, answer}]}, `answer` being the user's
 * schema or a string. The user's definitions move to the root, where its `$ref`s resolve.
 */
export function packResultsSchema(userSchema: Record<string, unknown> | undefined): Record<string, unknown> {
  const answerSchema = userSchema ? Object.fromEntries(Object.entries(userSchema).filter(([k]) => !(DEFS as readonly string[]).includes(k))) : undefined;
  const defs = userSchema ? Object.fromEntries(DEFS.filter((k) => userSchema[k] !== undefined).map((k) => [k, userSchema[k]])) : {};
  return {
    type: 'object',
    properties: {
      results: {
        type: 'array',
        items: {
          type: 'object',
          properties: { id: { type: 'integer' }, answer: answerSchema ?? STRING_ANSWER },
          required: ['id', 'answer'],
          additionalProperties: false,
        },
      },
    },
    required: ['results'],
    additionalProperties: false,
    ...defs,
  };
}

/** The `answer` schema of a pack's results schema, or undefined when the schema is not one. */
export function packAnswerSchemaOf(schema: unknown): Record<string, unknown> | undefined {
  const s = schema as { type?: unknown; properties?: Record<string, unknown> } | undefined;
  if (!s || s.type !== 'object' || !s.properties || Object.keys(s.properties).join() !== 'results') return undefined;
  const root = s as Record<string, unknown>;
  const results = s.properties.results as { type?: unknown; items?: { properties?: Record<string, unknown> } };
  const props = results?.type === 'array' ? results.items?.properties : undefined;
  if (!props || Object.keys(props).sort().join() !== 'answer,id') return undefined;
  const answer = props.answer;
  if (!answer || typeof answer !== 'object') return undefined;
  const defs = DEFS.filter((k) => root[k] !== undefined);
  return defs.length === 0 ? (answer as Record<string, unknown>) : { ...(answer as Record<string, unknown>), ...Object.fromEntries(defs.map((k) => [k, root[k]])) };
}

/** Whether an answer schema is the plain-text one (the answer is the content itself). */
export const isTextAnswer = (schema: Record<string, unknown>): boolean => schema.type === 'string' && Object.keys(schema).length === 1;
