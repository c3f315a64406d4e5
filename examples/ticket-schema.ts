// An answer schema for `llm-batch run --schema examples/ticket-schema.ts`: a zod schema,
// converted to JSON Schema (strict Structured Outputs) by the CLI. Every field is required;
// use .nullable() rather than .optional() for a field that may be empty.
import { z } from 'zod';

export default z.object({
  category: z.enum(['billing', 'bug', 'feature_request', 'account', 'other']),
  urgency: z.number().int().min(1).max(5),
  summary: z.string(),
  needs_human: z.boolean(),
});
