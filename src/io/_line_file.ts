/**
 * A text file written line by line for the export sinks (TUM trajectory, loop closures): lines are buffered and
 * written in batches, one write in flight at a time, so the caller never waits on the disk.
 * @module
 */
const encoder = new TextEncoder();

/** See module doc. */
export class LineFile {
  private lines: string[] = [];
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  /** Lines handed to the file so far. */
  written = 0;

  private constructor(private readonly file: Deno.FsFile, readonly path: string) {}

  /** Create (truncate) `path`. */
  static async create(path: string): Promise<LineFile> {
    return new LineFile(await Deno.open(path, { write: true, create: true, truncate: true }), path);
  }

  /** Queue one line (without its `\n`); written when 256 lines are waiting, or by `close()`. */
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length >= 256) this.flush();
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.join("\n") + "\n";
    const n = this.lines.length;
    this.lines = [];
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        const bytes = encoder.encode(text);
        let off = 0;
        while (off < bytes.length) off += await this.file.write(bytes.subarray(off));
        this.written += n;
      } catch (err) {
        this.failure = err as Error;
      }
    });
  }

  /** Write what is waiting and close the file; throws the first write error, naming the file. */
  async close(): Promise<void> {
    this.flush();
    await this.chain;
    this.file.close();
    if (this.failure) throw new Error(`Cannot write ${this.path}: ${this.failure.message}`);
  }
}
