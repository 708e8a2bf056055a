/**
 * COCO instances JSON + image folder -> sharded TFRecords of tf.Example, as Model Garden's
 * `official/vision/data/create_coco_tf_record.py` with `tfrecord_lib` writes them:
 *
 *   image/height, image/width (int64), image/filename, image/source_id (= str(image id)),
 *   image/key/sha256 (hex of the image bytes), image/encoded (the file's bytes, unmodified),
 *   image/format ('jpg' as Model Garden writes for COCO; 'png' for PNG files);
 *   and when the image has at least one kept object:
 *   image/object/bbox/{xmin,xmax,ymin,ymax} (float32, normalised), image/object/class/text,
 *   image/object/class/label (category id), image/object/is_crowd, image/object/area (float32),
 *   image/object/mask (one 8-bit greyscale PNG of 0/1 per object, with includeMasks).
 *
 * One Example per entry of `images`, in file order; example i goes to shard i % numShards, with
 * numShards capped at the number of images. Image ids must be unique and every annotation must
 * name one of them; `file_name`s must stay inside the images folder unless allowed.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import {
  bytesFeature,
  encodeExample,
  int64Feature,
  type FeatureMapInput,
} from '../../core/proto/index.js';
import { imageSize, sniffImageFormat } from '../decoders/image.js';
import {
  CocoFormatError,
  cocoObjectMask,
  cocoObjectsForImage,
  loadCocoAnnotations,
  type CocoDataset,
  type CocoImageInfo,
} from './coco_annotations.js';
import {
  detectionObjectFeatures,
  instanceMaskFeatures,
  orderedMap,
  type ConversionSummary,
} from './common.js';
import { ShardedTFRecordWriter } from './sharded_writer.js';

export interface CocoToTfRecordOptions {
  /** COCO instances JSON. */
  annotationsPath: string;
  /** Folder holding the images' `file_name`s. */
  imagesDir: string;
  /** Output prefix: files `<prefix>-%05d-of-%05d.tfrecord`. */
  outputPrefix: string;
  /** Number of shards (Model Garden's default is 32), at most one per image. */
  numShards?: number;
  /** Allow `file_name`s that lead outside `imagesDir` (`..`, absolute paths). Default false. */
  allowOutsideImages?: boolean;
  /** Rasterise segmentations into PNG masks (Model Garden `include_masks`). */
  includeMasks?: boolean;
  /** Images converted at once (default 2). Output order does not depend on it. */
  concurrency?: number;
  /** Called after each image with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Where an image's `file_name` leads under `imagesDir`. A name that leaves the folder (`..`
 * segments or an absolute path) is an error unless `allowOutside`, so an annotation file cannot
 * make the converter read, and embed, arbitrary files.
 */
export function imagePath(
  dataset: CocoDataset,
  image: CocoImageInfo,
  imagesDir: string,
  allowOutside: boolean,
): string {
  const root = resolve(imagesDir);
  const path = resolve(root, image.file_name);
  const rel = relative(root, path);
  if (
    !allowOutside &&
    (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
  ) {
    throw new CocoFormatError(
      `${dataset.path}: image ${image.id} file_name '${image.file_name}' leads outside ` +
        `--images ${imagesDir} (pass --allow_outside_images to read it)`,
    );
  }
  return path;
}

/** Builds the tf.Example features of one COCO image (Model Garden's `create_tf_example`). */
export async function cocoImageToFeatures(
  dataset: CocoDataset,
  image: CocoImageInfo,
  imagesDir: string,
  includeMasks: boolean,
  allowOutsideImages = false,
): Promise<{ features: FeatureMapInput; skipped: number }> {
  const path = imagePath(dataset, image, imagesDir, allowOutsideImages);
  let encoded: Uint8Array;
  try {
    encoded = await readFile(path);
  } catch (err) {
    throw new CocoFormatError(`image ${image.id}: cannot read ${path} (${(err as Error).message})`);
  }
  const size = await imageSize(encoded, `image ${image.id} (${path})`);
  if (size.height !== image.height || size.width !== image.width) {
    throw new CocoFormatError(
      `image ${image.id} (${path}) is ${size.height}x${size.width} but ${dataset.path} says ${image.height}x${image.width}`,
    );
  }
  const format = sniffImageFormat(encoded);
  const features: FeatureMapInput = {
    'image/height': int64Feature(image.height),
    'image/width': int64Feature(image.width),
    'image/filename': bytesFeature(image.file_name),
    'image/source_id': bytesFeature(String(image.id)),
    'image/key/sha256': bytesFeature(createHash('sha256').update(encoded).digest('hex')),
    'image/encoded': bytesFeature(encoded),
    'image/format': bytesFeature(format === 'jpeg' ? 'jpg' : format),
  };
  const { objects, skipped } = cocoObjectsForImage(dataset, image);
  Object.assign(features, detectionObjectFeatures(objects));
  if (includeMasks) {
    const masks = objects.map((o) => cocoObjectMask(dataset, image, o));
    Object.assign(features, await instanceMaskFeatures(masks, image.height, image.width));
  }
  return { features, skipped };
}

/** Converts a COCO dataset to sharded TFRecords. Partial shards are removed on failure. */
export async function cocoToTfRecord(opts: CocoToTfRecordOptions): Promise<ConversionSummary> {
  const dataset = await loadCocoAnnotations(opts.annotationsPath);
  const allowOutside = opts.allowOutsideImages ?? false;
  // Check every file_name before anything is written.
  for (const image of dataset.images) imagePath(dataset, image, opts.imagesDir, allowOutside);
  // No empty shards: at most one per image (and one for an empty image list).
  const numShards = Math.max(1, Math.min(opts.numShards ?? 32, dataset.images.length));
  const writer = await ShardedTFRecordWriter.open(opts.outputPrefix, numShards);
  let skippedTotal = 0;
  try {
    await orderedMap(
      dataset.images,
      opts.concurrency ?? 2,
      (image) =>
        cocoImageToFeatures(
          dataset,
          image,
          opts.imagesDir,
          opts.includeMasks ?? false,
          allowOutside,
        ),
      async ({ features, skipped }, i) => {
        skippedTotal += skipped;
        await writer.write(encodeExample(features));
        opts.onProgress?.(i + 1, dataset.images.length);
      },
    );
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return {
    files: writer.files,
    numExamples: dataset.images.length,
    numAnnotationsSkipped: skippedTotal,
  };
}
