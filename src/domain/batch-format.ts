// The line format of an OpenAI Batch input file, built from a stored request body (JSON
// text) without parsing it again, so writing a 50,000-line file is string concatenation.
// Pure.

/** `{"custom_id":…,"method":"POST","url":…,"body":…}` and a newline. */
export const batchInputLine = (customId: string, url: string, bodyJson: string): string =>
  `{"custom_id":${JSON.stringify(customId)},"method":"POST","url":${JSON.stringify(url)},"body":${bodyJson}}\n`;

/** The request body with the model replaced (the budget's fallback model), as JSON text. */
export function withModel(bodyJson: string, model: string | undefined): string {
  if (model === undefined) return bodyJson;
  const body = JSON.parse(bodyJson) as Record<string, unknown>;
  if (body.model === model) return bodyJson;
  return JSON.stringify({ ...body, model });
}

/** The metadata llm-batch puts on every batch it creates: how a retried submit finds its batch. */
export const batchMetadata = (runId: string, key: string): { llm_batch_run: string; chunk: string } => ({ llm_batch_run: runId, chunk: key });

/**
 * A submission's key: chunk, dispatch and submission number, e.g. `3.0.1` (chunk 3, first
 * dispatch, second batch). Unique over a run, so a record is never mistaken for another's.
 */
export const submissionKey = (chunkIndex: number, dispatch: number, submission: number): string => `${chunkIndex}.${dispatch}.${submission}`;
