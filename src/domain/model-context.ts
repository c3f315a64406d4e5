// How many tokens a model takes in one call (context window) and how many it may write
// (max output), as OpenAI's model pages list them. Used to cap what goes into one call
// (request packing); an unknown model gets the most common figures (128k in, 16k out).
interface ModelWindow {
  context: number;
  maxOutput: number;
}

// Longest prefix first: "gpt-4o-mini" before "gpt-4o", "gpt-4.1-nano" before "gpt-4.1".
const WINDOWS: [prefix: string, window: ModelWindow][] = [
  ['gpt-4.1', { context: 1_047_576, maxOutput: 32_768 }],
  ['gpt-4o-mini', { context: 128_000, maxOutput: 16_384 }],
  ['gpt-4o', { context: 128_000, maxOutput: 16_384 }],
  ['gpt-4-turbo', { context: 128_000, maxOutput: 4_096 }],
  ['gpt-3.5-turbo', { context: 16_385, maxOutput: 4_096 }],
  ['gpt-5', { context: 400_000, maxOutput: 128_000 }],
  ['o1', { context: 200_000, maxOutput: 100_000 }],
  ['o3', { context: 200_000, maxOutput: 100_000 }],
  ['o4', { context: 200_000, maxOutput: 100_000 }],
];

const FALLBACK: ModelWindow = { context: 128_000, maxOutput: 16_384 };

export function modelWindow(model: string): ModelWindow {
  for (const [prefix, w] of WINDOWS) if (model.startsWith(prefix)) return w;
  return FALLBACK;
}
