/** Shared pieces of the dataset converters. */
import {
  bytesFeature,
  floatFeature,
  int64Feature,
  type FeatureMapInput,
} from '../../core/proto/index.js';
import { encodeGrayPng } from '../decoders/image.js';

/** What a converter wrote. */
export interface ConversionSummary {
  files: string[];
  numExamples: number;
  /** Annotations skipped for an empty box or one past the image border. */
  numAnnotationsSkipped: number;
}

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight and hands the results to
 * `sink` in input order.
 */
export async function orderedMap<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  sink: (result: R, index: number) => Promise<void>,
): Promise<void> {
  const width = Math.max(1, Math.floor(concurrency));
  const pending = new Map<number, Promise<R>>();
  let next = 0;
  const launch = () => {
    while (next < items.length && pending.size < width) {
      const i = next++;
      const p = fn(items[i], i);
      p.catch(() => {}); // awaited below, in order
      pending.set(i, p);
    }
  };
  launch();
  for (let i = 0; i < items.length; i++) {
    const result = await pending.get(i)!;
    pending.delete(i);
    await sink(result, i);
    launch();
  }
}

/** One object of a detection tf.Example: box normalised to [0, 1], Model Garden's layout. */
export interface DetectionObjectFeature {
  ymin: number;
  xmin: number;
  ymax: number;
  xmax: number;
  classId: number;
  className: string;
  isCrowd: boolean;
  area: number;
}

/**
 * The `image/object/*` features of Model Garden's tf_example_decoder layout
 * (`official/vision/data/tfrecord_lib.py`, `create_coco_tf_record.py`): boxes as four float
 * lists, class label and text, is_crowd and area. Empty for an image without objects.
 */
export function detectionObjectFeatures(
  objects: readonly DetectionObjectFeature[],
): FeatureMapInput {
  if (objects.length === 0) return {};
  return {
    'image/object/bbox/xmin': floatFeature(...objects.map((o) => o.xmin)),
    'image/object/bbox/xmax': floatFeature(...objects.map((o) => o.xmax)),
    'image/object/bbox/ymin': floatFeature(...objects.map((o) => o.ymin)),
    'image/object/bbox/ymax': floatFeature(...objects.map((o) => o.ymax)),
    'image/object/class/text': bytesFeature(...objects.map((o) => o.className)),
    'image/object/class/label': int64Feature(...objects.map((o) => o.classId)),
    'image/object/is_crowd': int64Feature(...objects.map((o) => (o.isCrowd ? 1 : 0))),
    'image/object/area': floatFeature(...objects.map((o) => o.area)),
  };
}

/**
 * Model Garden's `image/object/mask` feature (`create_coco_tf_record.py` with include_masks): one
 * 8-bit greyscale PNG of 0/1 per object, in the objects' order. Empty for an image without
 * objects.
 */
export async function instanceMaskFeatures(
  masks: readonly Uint8Array[],
  height: number,
  width: number,
): Promise<FeatureMapInput> {
  if (masks.length === 0) return {};
  const pngs: Uint8Array[] = [];
  for (const m of masks) pngs.push(await encodeGrayPng(m, height, width));
  return { 'image/object/mask': bytesFeature(...pngs) };
}
