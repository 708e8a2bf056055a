/**
 * MNIST / Fashion-MNIST IDX files -> sharded TFRecords of classification tf.Examples.
 *
 * The images file is uint8 [N, H, W] (grey) or [N, H, W, C] with C = 1 or 3; the labels file is
 * an integer [N]. Each image is PNG-encoded (lossless, so decoding gives back the IDX pixels) and
 * written with image/encoded, image/format = 'png', image/class/label, image/height, image/width,
 * and image/class/text when class names are given (a label map is then written beside the shards).
 */
import {
  bytesFeature,
  encodeExample,
  int64Feature,
  type FeatureMapInput,
} from '../../core/proto/index.js';
import { readIdxFile, type IdxArray } from '../idx.js';
import { encodePng } from '../decoders/image.js';
import { labelMapFromNames, writeLabelMap } from '../label_map.js';
import { orderedMap, type ConversionSummary } from './common.js';
import { labelMapPathFor } from './folder.js';
import { ShardedTFRecordWriter } from './sharded_writer.js';

export interface IdxToTfRecordOptions {
  imagesPath: string;
  labelsPath: string;
  outputPrefix: string;
  numShards?: number;
  /** Class names by label; when given, image/class/text and a label map are written. */
  classNames?: readonly string[];
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export class IdxConversionError extends Error {
  override name = 'IdxConversionError';
}

function imageLayout(
  images: IdxArray,
  path: string,
): { n: number; h: number; w: number; c: number } {
  if (images.dtype !== 'uint8') {
    throw new IdxConversionError(`${path}: images must be uint8, got ${images.dtype}`);
  }
  const s = images.shape;
  if (s.length === 3) return { n: s[0], h: s[1], w: s[2], c: 1 };
  if (s.length === 4 && (s[3] === 1 || s[3] === 3)) return { n: s[0], h: s[1], w: s[2], c: s[3] };
  throw new IdxConversionError(
    `${path}: images must be [N, H, W] or [N, H, W, 1|3], got [${s.join(', ')}]`,
  );
}

export async function idxToTfRecord(
  opts: IdxToTfRecordOptions,
): Promise<ConversionSummary & { labelMapPath?: string }> {
  const images = await readIdxFile(opts.imagesPath);
  const labels = await readIdxFile(opts.labelsPath);
  const { n, h, w, c } = imageLayout(images, opts.imagesPath);
  if (labels.shape.length !== 1 || labels.dtype === 'float32' || labels.dtype === 'float64') {
    throw new IdxConversionError(
      `${opts.labelsPath}: labels must be an integer [N] array, got ${labels.dtype} [${labels.shape.join(', ')}]`,
    );
  }
  if (labels.shape[0] !== n) {
    throw new IdxConversionError(
      `${opts.labelsPath} has ${labels.shape[0]} labels but ${opts.imagesPath} has ${n} images`,
    );
  }
  const names = opts.classNames;
  if (names) {
    labels.data.forEach((l, i) => {
      if (l < 0 || l >= names.length) {
        throw new IdxConversionError(
          `${opts.labelsPath}: label ${l} of image ${i} has no class name (${names.length} names)`,
        );
      }
    });
  }
  const writer = await ShardedTFRecordWriter.open(opts.outputPrefix, opts.numShards ?? 1);
  const pixels = images.data as Uint8Array;
  const size = h * w * c;
  try {
    await orderedMap(
      Array.from({ length: n }, (_, i) => i),
      opts.concurrency ?? 2,
      async (i) => {
        const data = pixels.subarray(i * size, (i + 1) * size);
        const png = await encodePng({ data, height: h, width: w, channels: c });
        const label = Number(labels.data[i]);
        const features: FeatureMapInput = {
          'image/encoded': bytesFeature(png),
          'image/format': bytesFeature('png'),
          'image/class/label': int64Feature(label),
          'image/height': int64Feature(h),
          'image/width': int64Feature(w),
        };
        if (names) features['image/class/text'] = bytesFeature(names[label]);
        return encodeExample(features);
      },
      async (record, i) => {
        await writer.write(record);
        opts.onProgress?.(i + 1, n);
      },
    );
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  let labelMapPath: string | undefined;
  if (names) {
    labelMapPath = labelMapPathFor(opts.outputPrefix);
    await writeLabelMap(labelMapPath, labelMapFromNames(names));
  }
  return { files: writer.files, numExamples: n, numAnnotationsSkipped: 0, labelMapPath };
}
