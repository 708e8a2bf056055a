/**
 * Streaming TFRecord reader.
 *
 * Files are read through a stream in chunks (1 MiB by default); each record's payload is copied
 * into its own buffer, so memory stays at about one chunk plus the current record however large
 * the file is. Both CRCs are verified by default. GZIP files are decompressed on the fly; offsets
 * then refer to the decompressed stream (as in TensorFlow).
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { maskedCrc32c } from '../../core/crc32c.js';
import { DataLossError } from './errors.js';
import { resolveFilePattern, type TFRecordSource } from './file_patterns.js';
import { FOOTER_BYTES, HEADER_BYTES, readUint32LE, readUint64LE } from './framing.js';

/** One record and where it came from. */
export interface TFRecord {
  /** The payload, in a buffer of its own. */
  data: Uint8Array;
  file: string;
  /** 0-based index of the record in its file (skipped records keep their numbers). */
  index: number;
  /** Byte offset of the record's header in the (decompressed) file. */
  offset: number;
}

export type TFRecordCompression = 'auto' | 'gzip' | 'none';

export interface ReadTFRecordsOptions {
  /** 'auto' (default): GZIP when the name ends in `.gz` or the file starts with 1f 8b. */
  compression?: TFRecordCompression;
  /** Verify the length and payload CRCs (default true). */
  verifyChecksums?: boolean;
  /**
   * 'error' (default): throw {@link DataLossError}. 'skip': drop a record whose payload CRC fails
   * and go on; on a bad length or a truncated tail, stop that file and go to the next one.
   */
  onCorrupt?: 'error' | 'skip';
  /** Called for every record dropped in skip mode. */
  onSkip?: (error: DataLossError) => void;
  /** Largest payload accepted; a longer length is reported as 'corrupt-length' (default 2 GiB). */
  maxRecordBytes?: number;
  /** Read chunk size in bytes (default 1 MiB). */
  chunkBytes?: number;
}

/** Counters of one pass over the source (reset when iteration starts again). */
export interface TFRecordReadStats {
  filesOpened: number;
  recordsRead: number;
  recordsSkipped: number;
  /** Files abandoned in skip mode after a bad length or a truncated tail. */
  filesStoppedEarly: number;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const DEFAULT_MAX_RECORD_BYTES = 2 ** 31;

/** Pulls exact byte counts out of a stream of chunks, copying into fresh buffers. */
class ChunkReader {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private ended = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Reads `n` bytes; returns fewer only when the stream ends first. */
  async read(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.chunks.length === 0) {
        if (this.ended) break;
        const next = await this.source.next();
        if (next.done) {
          this.ended = true;
          break;
        }
        if (next.value.length > 0) this.chunks.push(next.value);
        continue;
      }
      const chunk = this.chunks[0];
      const take = Math.min(n - filled, chunk.length - this.head);
      out.set(chunk.subarray(this.head, this.head + take), filled);
      filled += take;
      this.head += take;
      if (this.head === chunk.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return filled === n ? out : out.subarray(0, filled);
  }
}

async function isGzipFile(file: string, compression: TFRecordCompression): Promise<boolean> {
  if (compression !== 'auto') return compression === 'gzip';
  if (file.endsWith('.gz')) return true;
  const fh = await open(file, 'r');
  try {
    const magic = new Uint8Array(2);
    const { bytesRead } = await fh.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === GZIP_MAGIC[0] && magic[1] === GZIP_MAGIC[1];
  } finally {
    await fh.close();
  }
}

function openStream(file: string, gzip: boolean, chunkBytes: number): Readable {
  const raw = createReadStream(file, { highWaterMark: chunkBytes });
  if (!gzip) return raw;
  const gunzip = createGunzip({ chunkSize: Math.min(chunkBytes, 1 << 20) });
  // Errors of either stage surface through the gunzip stream we iterate.
  pipeline(raw, gunzip, () => {});
  return gunzip;
}

/**
 * Reads the records of one file. Throws DataLossError (error mode) or reports and skips
 * (skip mode); never loops: every path consumes bytes or ends the file.
 */
async function* readFile(
  file: string,
  opts: Required<Omit<ReadTFRecordsOptions, 'onSkip'>> & Pick<ReadTFRecordsOptions, 'onSkip'>,
  stats: TFRecordReadStats,
): AsyncGenerator<TFRecord> {
  const gzip = await isGzipFile(file, opts.compression);
  const fileSize = gzip ? Number.POSITIVE_INFINITY : (await stat(file)).size;
  const stream = openStream(file, gzip, opts.chunkBytes);
  stats.filesOpened++;
  const reader = new ChunkReader(stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>);
  let offset = 0;
  let index = 0;
  const fail = (kind: DataLossError['kind'], detail: string) =>
    new DataLossError(kind, file, index, offset, detail);
  /** Reports a damaged record in skip mode, or throws it. */
  const report = (err: DataLossError): void => {
    if (opts.onCorrupt !== 'skip') throw err;
    stats.recordsSkipped++;
    if (err.kind !== 'corrupt-data') stats.filesStoppedEarly++;
    opts.onSkip?.(err);
  };
  try {
    for (;;) {
      let payload: Uint8Array;
      let footer: Uint8Array;
      let length: number;
      try {
        const header = await reader.read(HEADER_BYTES);
        if (header.length === 0) return;
        // From here on a bad record ends the file: its framing cannot be trusted to resync.
        if (header.length < HEADER_BYTES) {
          return report(fail('truncated', `only ${header.length} of ${HEADER_BYTES} header bytes`));
        }
        if (
          opts.verifyChecksums &&
          maskedCrc32c(header.subarray(0, 8)) !== readUint32LE(header, 8)
        ) {
          return report(fail('corrupt-length', 'length CRC mismatch'));
        }
        const length64 = readUint64LE(header, 0);
        if (length64 > BigInt(opts.maxRecordBytes)) {
          return report(
            fail(
              'corrupt-length',
              `length ${length64} exceeds maxRecordBytes ${opts.maxRecordBytes}`,
            ),
          );
        }
        length = Number(length64);
        const needed = offset + HEADER_BYTES + length + FOOTER_BYTES;
        if (needed > fileSize) {
          return report(
            fail(
              'truncated',
              `header says ${length} payload bytes, file ends ${needed - fileSize} bytes short`,
            ),
          );
        }
        payload = await reader.read(length);
        footer = await reader.read(FOOTER_BYTES);
        if (payload.length < length || footer.length < FOOTER_BYTES) {
          return report(
            fail(
              'truncated',
              `header says ${length} payload bytes, only ${payload.length} present` +
                (payload.length === length
                  ? `, ${footer.length} of ${FOOTER_BYTES} CRC bytes`
                  : ''),
            ),
          );
        }
      } catch (err) {
        if (err instanceof DataLossError) throw err;
        // A decompression error: a cut-off GZIP stream is a truncation, anything else corruption.
        // Either way the rest of the stream is unusable.
        const e = err as NodeJS.ErrnoException;
        const lossy = fail(
          e.code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupt-length',
          `cannot decompress GZIP stream (${e.message})`,
        );
        lossy.cause = err;
        return report(lossy);
      }
      const recordOffset = offset;
      const recordIndex = index;
      const payloadOk = !opts.verifyChecksums || maskedCrc32c(payload) === readUint32LE(footer, 0);
      // The framing is intact either way, so a bad payload can be skipped in skip mode.
      const err = payloadOk ? undefined : fail('corrupt-data', 'payload CRC mismatch');
      offset += HEADER_BYTES + length + FOOTER_BYTES;
      index++;
      if (err) {
        report(err);
        continue;
      }
      stats.recordsRead++;
      yield { data: payload, file, index: recordIndex, offset: recordOffset };
    }
  } finally {
    stream.destroy();
  }
}

/** An async-iterable pass over TFRecord files, with counters of what was read and skipped. */
export class TFRecordStream implements AsyncIterable<TFRecord> {
  readonly stats: TFRecordReadStats = {
    filesOpened: 0,
    recordsRead: 0,
    recordsSkipped: 0,
    filesStoppedEarly: 0,
  };

  constructor(
    readonly source: TFRecordSource,
    private readonly options: ReadTFRecordsOptions = {},
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<TFRecord> {
    const opts = {
      compression: this.options.compression ?? 'auto',
      verifyChecksums: this.options.verifyChecksums ?? true,
      onCorrupt: this.options.onCorrupt ?? 'error',
      onSkip: this.options.onSkip,
      maxRecordBytes: this.options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      chunkBytes: this.options.chunkBytes ?? 1 << 20,
    };
    if (!['auto', 'gzip', 'none'].includes(opts.compression)) {
      throw new TypeError(
        `compression must be 'auto', 'gzip' or 'none', got '${opts.compression}'`,
      );
    }
    if (!['error', 'skip'].includes(opts.onCorrupt)) {
      throw new TypeError(`onCorrupt must be 'error' or 'skip', got '${opts.onCorrupt}'`);
    }
    Object.assign(this.stats, {
      filesOpened: 0,
      recordsRead: 0,
      recordsSkipped: 0,
      filesStoppedEarly: 0,
    });
    for (const file of await resolveFilePattern(this.source))
      yield* readFile(file, opts, this.stats);
  }
}

/**
 * Reads the records of every file in `source` (a path, comma-separated list, glob, `prefix@N`
 * sharded spec, or an array of those), file after file, in order.
 *
 * ```ts
 * for await (const { data, index } of readTFRecords('train@16')) decodeExample(data);
 * ```
 */
export function readTFRecords(
  source: TFRecordSource,
  options: ReadTFRecordsOptions = {},
): TFRecordStream {
  return new TFRecordStream(source, options);
}
