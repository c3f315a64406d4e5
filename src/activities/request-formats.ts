// What each line of a Batch input file asked its answer to be (its response_format), read back
// with the file when a run validates answers (--schema): one stub per distinct format, so a
// 50,000-line file sharing one schema holds it once.

export class RequestFormats {
  private readonly stubs: { response_format?: unknown }[] = [];
  private readonly byText = new Map<string, number>();
  /** Per 0-based line of the file, its stub's index. */
  private readonly lines: number[] = [];

  /** Notes the next line of the file (a Batch input line's JSON text). */
  addLine(text: string): void {
    let format: unknown;
    try {
      format = (JSON.parse(text) as { body?: { response_format?: unknown } }).body?.response_format;
    } catch {
      format = undefined;
    }
    const key = format === undefined ? '' : JSON.stringify(format);
    let at = this.byText.get(key);
    if (at === undefined) {
      at = this.stubs.length;
      this.stubs.push(format === undefined ? {} : { response_format: format });
      this.byText.set(key, at);
    }
    this.lines.push(at);
  }

  /** A request body holding only the response_format of the line at `position` (0-based): what an answer check reads. */
  requestOf(position: number): { response_format?: unknown } {
    const at = this.lines[position];
    return at === undefined ? {} : this.stubs[at]!;
  }
}
