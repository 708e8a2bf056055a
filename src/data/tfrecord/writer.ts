/**
 * Streaming TFRecord writer.
 *
 * Records are framed (see ./framing.ts), staged in a buffer (1 MiB by default; larger records go
 * straight to the file) and written through a file handle, optionally through a GZIP stream.
 * In atomic mode (the default) the data goes to `<path>.tmp`, renamed to `<path>` by `close()`,
 * so a crashed or aborted writer never leaves a half-written file under the final name.
 *
 * Calls are queued internally, so `write()` may be called without awaiting each one; the first
 * failure is kept and re-thrown by every later call.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { constants as zlibConstants, createGzip, type Gzip } from 'node:zlib';
import { encodeFooter, encodeHeader } from './framing.js';

export interface TFRecordWriterOptions {
  /** 'gzip' or 'none'; default: 'gzip' when the path ends in `.gz`, else 'none'. */
  compression?: 'gzip' | 'none';
  /** zlib level 0..9 (default 6, zlib's default). */
  gzipLevel?: number;
  /** Write to `<path>.tmp` and rename on close (default true). */
  atomic?: boolean;
  /** Staging buffer size in bytes (default 1 MiB). */
  bufferBytes?: number;
}

export class TFRecordWriter {
  /** File the data is being written to (`<path>.tmp` in atomic mode). */
  readonly writingPath: string;
  private readonly compression: 'gzip' | 'none';
  private readonly atomic: boolean;
  private readonly staging: Uint8Array;
  private staged = 0;
  private handle: Promise<FileHandle>;
  private gzip: Gzip | undefined;
  private gzipOut: Uint8Array[] = [];
  private gzipError: Error | undefined;
  private queue: Promise<void> = Promise.resolve();
  private failure: unknown;
  private state: 'open' | 'closed' | 'aborted' = 'open';
  private records = 0;

  constructor(
    readonly path: string,
    options: TFRecordWriterOptions = {},
  ) {
    this.compression = options.compression ?? (path.endsWith('.gz') ? 'gzip' : 'none');
    if (this.compression !== 'gzip' && this.compression !== 'none') {
      throw new TypeError(
        `TFRecordWriter ${path}: compression must be 'gzip' or 'none', got '${String(this.compression)}'`,
      );
    }
    this.atomic = options.atomic ?? true;
    this.writingPath = this.atomic ? `${path}.tmp` : path;
    this.staging = new Uint8Array(options.bufferBytes ?? 1 << 20);
    this.handle = open(this.writingPath, 'w');
    this.handle.catch(() => {}); // reported by the first queued operation
    if (this.compression === 'gzip') {
      this.gzip = createGzip({ level: options.gzipLevel ?? zlibConstants.Z_DEFAULT_COMPRESSION });
      this.gzip.on('data', (chunk: Uint8Array) => this.gzipOut.push(chunk));
      this.gzip.on('error', (err) => (this.gzipError = err));
    }
  }

  /** Number of records accepted so far. */
  get recordsWritten(): number {
    return this.records;
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.failure !== undefined) throw this.failure;
      try {
        await op();
      } catch (err) {
        this.failure = err;
        throw err;
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /** An error for a call made after close()/abort(), or undefined while open. */
  private notOpen(what: string): Error | undefined {
    if (this.state === 'open') return undefined;
    return new Error(
      `TFRecordWriter ${this.path}: ${what} after ${this.state === 'closed' ? 'close' : 'abort'}()`,
    );
  }

  /** Writes bytes to the file handle, in full. */
  private async writeFile(bytes: Uint8Array): Promise<void> {
    const fh = await this.handle;
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
      done += bytesWritten;
    }
  }

  private async drainGzipOutput(): Promise<void> {
    if (this.gzipError) throw this.gzipError;
    const chunks = this.gzipOut;
    this.gzipOut = [];
    for (const c of chunks) await this.writeFile(c);
  }

  /** Sends framed bytes towards the file: through GZIP, via the staging buffer, or directly. */
  private async emit(bytes: Uint8Array): Promise<void> {
    if (this.gzip) {
      const gzip = this.gzip;
      if (!gzip.write(bytes)) await new Promise<void>((resolve) => gzip.once('drain', resolve));
      const pending = this.gzipOut.reduce((a, c) => a + c.length, 0);
      if (pending >= this.staging.length) await this.drainGzipOutput();
      return;
    }
    if (bytes.length >= this.staging.length) {
      await this.flushStaging();
      await this.writeFile(bytes);
      return;
    }
    if (this.staged + bytes.length > this.staging.length) await this.flushStaging();
    this.staging.set(bytes, this.staged);
    this.staged += bytes.length;
  }

  private async flushStaging(): Promise<void> {
    if (this.staged === 0) return;
    const bytes = this.staging.slice(0, this.staged);
    this.staged = 0;
    await this.writeFile(bytes);
  }

  /** Appends one record. The payload is not copied until it is staged or written. */
  write(record: Uint8Array): Promise<void> {
    const closed = this.notOpen('write()');
    if (closed) return Promise.reject(closed);
    if (!(record instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(`TFRecordWriter ${this.path}: write() takes a Uint8Array`),
      );
    }
    this.records++;
    return this.enqueue(async () => {
      await this.emit(encodeHeader(record.length));
      await this.emit(record);
      await this.emit(encodeFooter(record));
    });
  }

  /** Pushes everything written so far to the file (a GZIP stream gets a sync flush). */
  flush(): Promise<void> {
    const closed = this.notOpen('flush()');
    if (closed) return Promise.reject(closed);
    return this.enqueue(async () => {
      if (this.gzip) {
        const gzip = this.gzip;
        await new Promise<void>((resolve) =>
          gzip.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()),
        );
        await this.drainGzipOutput();
      } else {
        await this.flushStaging();
      }
    });
  }

  /** Writes the remaining data, closes the file and (atomic mode) renames it to its final name. */
  close(): Promise<void> {
    if (this.state === 'closed') return this.queue;
    const aborted = this.notOpen('close()');
    if (aborted) return Promise.reject(aborted);
    this.state = 'closed';
    return this.enqueue(async () => {
      if (this.gzip) {
        const gzip = this.gzip;
        await new Promise<void>((resolve, reject) => {
          gzip.once('end', resolve);
          gzip.once('error', reject);
          gzip.end();
        });
        await this.drainGzipOutput();
      } else {
        await this.flushStaging();
      }
      const fh = await this.handle;
      await fh.close();
      if (this.atomic) await rename(this.writingPath, this.path);
    });
  }

  /** Stops writing and deletes the partial file (`<path>.tmp` in atomic mode). */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.queue;
    this.gzip?.destroy();
    try {
      await (await this.handle).close();
    } catch {
      // the file may never have opened
    }
    await rm(this.writingPath, { force: true });
  }
}
