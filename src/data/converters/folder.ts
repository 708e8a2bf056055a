/**
 * Image folder (one sub-folder per class) -> sharded TFRecords of classification tf.Examples,
 * with the keys Model Garden's classification decoder reads plus size, format and names:
 *   image/encoded (the file's bytes), image/format ('jpeg', 'png', ...), image/class/label
 *   (0-based, sorted folder order), image/class/text, image/height, image/width, image/filename
 *   (path relative to the root).
 * The label map (pbtxt, `item { id: 0 name: 'cat' }`) is written beside the shards as
 * `<prefix>.label_map.pbtxt`.
 */
import { readFile } from 'node:fs/promises';
import { bytesFeature, encodeExample, int64Feature } from '../../core/proto/index.js';
import { imageSize } from '../decoders/image.js';
import { labelMapFromNames, writeLabelMap } from '../label_map.js';
import { listImageFolder } from '../readers/image_folder.js';
import { orderedMap, type ConversionSummary } from './common.js';
import { ShardedTFRecordWriter } from './sharded_writer.js';

export interface FolderToTfRecordOptions {
  inputDir: string;
  outputPrefix: string;
  numShards?: number;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface FolderConversionSummary extends ConversionSummary {
  classNames: string[];
  labelMapPath: string;
}

/** Path of the label map written beside the shards of `prefix`. */
export function labelMapPathFor(prefix: string): string {
  return `${prefix}.label_map.pbtxt`;
}

export async function folderToTfRecord(
  opts: FolderToTfRecordOptions,
): Promise<FolderConversionSummary> {
  const listing = await listImageFolder(opts.inputDir);
  const writer = await ShardedTFRecordWriter.open(opts.outputPrefix, opts.numShards ?? 1);
  try {
    await orderedMap(
      listing.entries,
      opts.concurrency ?? 2,
      async (entry) => {
        const encoded = await readFile(entry.path);
        const size = await imageSize(encoded, entry.path);
        return encodeExample({
          'image/encoded': bytesFeature(encoded),
          'image/format': bytesFeature(size.format),
          'image/class/label': int64Feature(entry.label),
          'image/class/text': bytesFeature(entry.className),
          'image/height': int64Feature(size.height),
          'image/width': int64Feature(size.width),
          'image/filename': bytesFeature(entry.relativePath),
        });
      },
      async (record, i) => {
        await writer.write(record);
        opts.onProgress?.(i + 1, listing.entries.length);
      },
    );
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  const labelMapPath = labelMapPathFor(opts.outputPrefix);
  await writeLabelMap(labelMapPath, labelMapFromNames(listing.classNames));
  return {
    files: writer.files,
    numExamples: listing.entries.length,
    numAnnotationsSkipped: 0,
    classNames: listing.classNames,
    labelMapPath,
  };
}
