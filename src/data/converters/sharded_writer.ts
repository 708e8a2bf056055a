/**
 * Round-robin sharded TFRecord output, as Model Garden's `tfrecord_lib.write_tf_record_dataset`:
 * example i goes to shard i % numShards, files named `<prefix>-%05d-of-%05d.tfrecord`.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileError } from '../../core/fs_errors.js';
import { TFRecordWriter } from '../tfrecord/index.js';

/** `<prefix>-00000-of-0000N.tfrecord`, ... (Model Garden's sharded output names). */
export function shardFileNames(prefix: string, numShards: number): string[] {
  if (!Number.isInteger(numShards) || numShards < 1) {
    throw new RangeError(`num_shards must be a positive integer, got ${numShards}`);
  }
  const total = String(numShards).padStart(5, '0');
  return Array.from(
    { length: numShards },
    (_, i) => `${prefix}-${String(i).padStart(5, '0')}-of-${total}.tfrecord`,
  );
}

export class ShardedTFRecordWriter {
  readonly files: string[];
  private readonly writers: TFRecordWriter[];
  private count = 0;

  private constructor(files: string[]) {
    this.files = files;
    this.writers = files.map((f) => new TFRecordWriter(f));
  }

  /** Opens `numShards` writers for `prefix` (its directory is created if needed). */
  static async open(prefix: string, numShards: number): Promise<ShardedTFRecordWriter> {
    const files = shardFileNames(prefix, numShards);
    try {
      await mkdir(dirname(prefix), { recursive: true });
    } catch (err) {
      throw fileError(err, 'create the output folder', dirname(prefix));
    }
    return new ShardedTFRecordWriter(files);
  }

  /** Records written so far. */
  get recordsWritten(): number {
    return this.count;
  }

  /** Writes the next record to shard `count % numShards`. */
  async write(record: Uint8Array): Promise<void> {
    const shard = this.count % this.writers.length;
    this.count++;
    try {
      await this.writers[shard].write(record);
    } catch (err) {
      throw fileError(err, 'write', this.files[shard]);
    }
  }

  /** Closes every shard (renaming them to their final names). */
  async close(): Promise<void> {
    await Promise.all(
      this.writers.map(async (w, i) => {
        try {
          await w.close();
        } catch (err) {
          throw fileError(err, 'write', this.files[i]);
        }
      }),
    );
  }

  /** Deletes the partial shards. */
  async abort(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.abort()));
  }
}
