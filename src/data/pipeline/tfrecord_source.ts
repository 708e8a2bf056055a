/** An {@link ExampleSource} over TFRecord files, streaming each shard with ../tfrecord. */
import type { DataLossError } from '../tfrecord/errors.js';
import { resolveFilePattern, type TFRecordSource } from '../tfrecord/file_patterns.js';
import { readTFRecords, type TFRecordCompression } from '../tfrecord/reader.js';
import type { ExampleSource, SourceRecord } from './types.js';

export interface TFRecordSourceOptions {
  /** Skip records whose payload CRC fails (and stop a file at broken framing) instead of failing. */
  skipCorrupt?: boolean;
  /** Called for every record skipped in skipCorrupt mode. */
  onSkip?: (error: DataLossError) => void;
  compression?: TFRecordCompression;
}

/** A TFRecord source, with the count of records skipped so far in skipCorrupt mode. */
export interface TFRecordExampleSource extends ExampleSource {
  readonly recordsSkipped: number;
}

/**
 * Examples are the records of the files `pattern` names (a path, glob, comma list, `prefix@N`
 * or an array of those: see ../tfrecord/file_patterns.ts), one shard per file, in the order the
 * pattern resolves to. Each record's locator is `${file} record ${i} (offset ${byteOffset})`,
 * the offset being that of the record's header (in the decompressed stream for GZIP files).
 * Each record arrives in a buffer of its own, so the pipeline moves it to a worker uncopied.
 */
export function tfrecordSource(
  pattern: TFRecordSource,
  opts: TFRecordSourceOptions = {},
): TFRecordExampleSource {
  let skipped = 0;
  const name = typeof pattern === 'string' ? pattern : pattern.join(',');
  return {
    name,
    transferableBytes: true,
    get recordsSkipped() {
      return skipped;
    },
    shards: () => resolveFilePattern(pattern),
    readShard(shard: string): AsyncIterable<SourceRecord> {
      const records = readTFRecords([shard], {
        onCorrupt: opts.skipCorrupt ? 'skip' : 'error',
        compression: opts.compression ?? 'auto',
        onSkip: (err) => {
          skipped++;
          opts.onSkip?.(err);
        },
      });
      return (async function* () {
        for await (const r of records) {
          yield { bytes: r.data, where: `${r.file} record ${r.index} (offset ${r.offset})` };
        }
      })();
    },
  };
}
