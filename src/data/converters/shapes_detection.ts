/**
 * Generated shapes-detection data set -> sharded TFRecords of detection tf.Examples in Model
 * Garden's tf_example_decoder layout (the layout `coco-to-tfrecord` writes), in two splits:
 * `<dir>/train-*.tfrecord` and `<dir>/val-*.tfrecord` (held out: scenes from other streams of the
 * same seed), plus `<dir>/label_map.pbtxt`. Class ids are 1 + the index into the class names
 * (0 is the background of RetinaNet's num_classes), images are lossless PNGs, and source ids
 * count 1, 2, ... within each split. With `includeMasks`, each object's exact instance mask (the
 * shape's pixels; shapes never overlap) is written as `image/object/mask`, as
 * `coco-to-tfrecord --include_masks` does.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { bytesFeature, encodeExample, int64Feature } from '../../core/proto/index.js';
import { encodePng } from '../decoders/image.js';
import { labelMapFromNames, writeLabelMap } from '../label_map.js';
import {
  resolveSceneOptions,
  shapeMask,
  shapeSceneAt,
  type ShapeScene,
  type ShapeSceneOptions,
} from '../synthetic/shapes.js';
import { detectionObjectFeatures, instanceMaskFeatures, orderedMap } from './common.js';
import { ShardedTFRecordWriter } from './sharded_writer.js';

export const SHAPES_DETECTION_SPLITS = ['train', 'val'] as const;
export type ShapesDetectionSplit = (typeof SHAPES_DETECTION_SPLITS)[number];

export interface ShapesDetectionOptions extends ShapeSceneOptions {
  outputDir: string;
  numTrain: number;
  numVal: number;
  seed?: number;
  /** Shards per split (capped at the split's size). Default 1. */
  numShards?: number;
  concurrency?: number;
  /** Write each object's instance mask (Model Garden's `image/object/mask`). Default false. */
  includeMasks?: boolean;
}

export interface ShapesDetectionSummary {
  files: Record<ShapesDetectionSplit, string[]>;
  numExamples: Record<ShapesDetectionSplit, number>;
  numObjects: Record<ShapesDetectionSplit, number>;
  labelMapPath: string;
}

/** The tf.Example of one scene. */
export async function shapeSceneExample(
  scene: ShapeScene,
  sourceId: number,
  classNames: readonly string[],
  includeMasks = false,
): Promise<Uint8Array> {
  const s = scene.imageSize;
  const masks = includeMasks ? scene.objects.map((o) => shapeMask(o.params, s)) : [];
  const png = await encodePng({ data: scene.image, height: s, width: s, channels: 3 });
  return encodeExample({
    'image/height': int64Feature(s),
    'image/width': int64Feature(s),
    'image/filename': bytesFeature(`shape_scene_${sourceId}.png`),
    'image/source_id': bytesFeature(String(sourceId)),
    'image/key/sha256': bytesFeature(createHash('sha256').update(png).digest('hex')),
    'image/encoded': bytesFeature(png),
    'image/format': bytesFeature('png'),
    ...detectionObjectFeatures(
      scene.objects.map((o) => ({
        ymin: o.box[0] / s,
        xmin: o.box[1] / s,
        ymax: o.box[2] / s,
        xmax: o.box[3] / s,
        classId: o.label + 1,
        className: classNames[o.label],
        isCrowd: false,
        area: o.area,
      })),
    ),
    ...(await instanceMaskFeatures(masks, s, s)),
  });
}

function checkCount(field: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new Error(`${field} must be a positive integer, got ${n}`);
  }
}

/** Writes both splits; partial shards are removed on failure. */
export async function shapesDetectionToTfRecord(
  opts: ShapesDetectionOptions,
): Promise<ShapesDetectionSummary> {
  checkCount('num_train', opts.numTrain);
  checkCount('num_val', opts.numVal);
  const sceneOpts = resolveSceneOptions(opts);
  const seed = opts.seed ?? 0;
  const counts = { train: opts.numTrain, val: opts.numVal };
  const summary: ShapesDetectionSummary = {
    files: { train: [], val: [] },
    numExamples: counts,
    numObjects: { train: 0, val: 0 },
    labelMapPath: join(opts.outputDir, 'label_map.pbtxt'),
  };
  for (const split of SHAPES_DETECTION_SPLITS) {
    const n = counts[split];
    const numShards = Math.max(1, Math.min(opts.numShards ?? 1, n));
    const writer = await ShardedTFRecordWriter.open(join(opts.outputDir, split), numShards);
    try {
      await orderedMap(
        Array.from({ length: n }, (_, i) => i),
        opts.concurrency ?? 2,
        async (i) => {
          const scene = shapeSceneAt(seed, split, i, sceneOpts);
          summary.numObjects[split] += scene.objects.length;
          return shapeSceneExample(scene, i + 1, sceneOpts.classNames, opts.includeMasks);
        },
        (record) => writer.write(record),
      );
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    summary.files[split] = writer.files;
  }
  await writeLabelMap(summary.labelMapPath, labelMapFromNames(sceneOpts.classNames, 1));
  return summary;
}
