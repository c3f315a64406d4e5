// The model list the emulator reports at GET /v1/models, in OpenAI's shape.

export const MODEL_IDS = [
  'gpt-4o-mini',
  'gpt-4o',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-4.1-nano',
  'gpt-5',
  'gpt-5-mini',
  'gpt-5-nano',
  'o4-mini',
  'o3',
  'text-embedding-3-small',
  'text-embedding-3-large',
] as const;

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** A fixed creation time keeps the answers stable. */
const CREATED = 1_715_367_049;

export function modelObject(id: string): ModelObject {
  return { id, object: 'model', created: CREATED, owned_by: 'system' };
}

export function listModels(): { object: 'list'; data: ModelObject[] } {
  return { object: 'list', data: MODEL_IDS.map(modelObject) };
}

export function findModel(id: string): ModelObject | undefined {
  return (MODEL_IDS as readonly string[]).includes(id) ? modelObject(id) : undefined;
}
