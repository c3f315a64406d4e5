import { describe, expect, it } from 'vitest';
import { PartPlanner } from '../../src/domain/batch-plan.ts';
import { batchInputLine, submissionKey, withModel } from '../../src/domain/batch-format.ts';

describe('part planning', () => {
  it('realtime parts first by chunk size, then batch files by model, line and byte limits', () => {
    const p = new PartPlanner({ chunkSize: 2, maxLines: 3, maxBytes: 1000 });
    const parts = [
      p.add({ route: 'realtime', model: 'a', bytes: 10 }),
      p.add({ route: 'realtime', model: 'b', bytes: 10 }),
      p.add({ route: 'realtime', model: 'a', bytes: 10 }),
      // batch, model a: 4 lines → files of 3 and 1
      ...[1, 2, 3, 4].map(() => p.add({ route: 'batch', model: 'a', bytes: 10 })),
      // model b starts a new file even though a's last has room
      p.add({ route: 'batch', model: 'b', bytes: 10 }),
    ];
    expect(parts).toEqual([0, 0, 1, 2, 2, 2, 3, 4]);
    expect({ rt: p.realtimeParts, b: p.batchParts, rtItems: p.realtimeItems, bItems: p.batchItems }).toEqual({ rt: 2, b: 3, rtItems: 3, bItems: 5 });
  });

  it('closes a file before it would pass the byte limit; a line alone may not be split', () => {
    const p = new PartPlanner({ chunkSize: 10, maxLines: 100, maxBytes: 100 });
    expect([60, 30, 20, 150, 10].map((bytes) => p.add({ route: 'batch', model: 'm', bytes }))).toEqual([0, 0, 1, 2, 3]);
  });

  it('refuses realtime items after batch ones, and limits below 1', () => {
    const p = new PartPlanner({ chunkSize: 1, maxLines: 1, maxBytes: 1 });
    p.add({ route: 'batch', model: 'm', bytes: 1 });
    expect(() => p.add({ route: 'realtime', model: 'm', bytes: 1 })).toThrow(/realtime items must be planned before batch items/);
    expect(() => new PartPlanner({ chunkSize: 0, maxLines: 1, maxBytes: 1 })).toThrow(RangeError);
  });
});

describe('batch input lines', () => {
  it('are OpenAI Batch input lines built from the stored body text', () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi "there"' }] });
    const line = batchInputLine('id-"1"', '/v1/chat/completions', body);
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({ custom_id: 'id-"1"', method: 'POST', url: '/v1/chat/completions', body: JSON.parse(body) });
  });

  it('swap the model only when a fallback is given', () => {
    const body = '{"model":"gpt-4o","input":"x"}';
    expect(withModel(body, undefined)).toBe(body);
    expect(JSON.parse(withModel(body, 'gpt-4o-mini'))).toEqual({ model: 'gpt-4o-mini', input: 'x' });
    expect(submissionKey(3, 0, 1)).toBe('3.0.1');
  });
});
