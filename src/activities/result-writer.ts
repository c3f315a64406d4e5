// Groups item results into small transactions: a write resolves once its row is
// committed, and rows arriving within FLUSH_DELAY_MS of each other share one commit.
import type { ItemResult, ItemStore } from '../store/item-store.ts';

const FLUSH_DELAY_MS = 5;
const MAX_BATCH = 256;

export class ResultWriter {
  private readonly store: ItemStore;
  private readonly runId: string;
  private buffer: { result: ItemResult; done: () => void; fail: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(store: ItemStore, runId: string) {
    this.store = store;
    this.runId = runId;
  }

  write(result: ItemResult): Promise<void> {
    return new Promise<void>((done, fail) => {
      this.buffer.push({ result, done, fail });
      if (this.buffer.length >= MAX_BATCH) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
    });
  }

  /** Commits whatever is buffered; resolves when it and every earlier commit are done. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    this.writing = this.writing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.store.recordResults(this.runId, batch.map((b) => b.result));
        for (const b of batch) b.done();
      } catch (e) {
        for (const b of batch) b.fail(e);
      }
    });
    return this.writing;
  }
}
