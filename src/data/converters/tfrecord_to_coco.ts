/**
 * Detection TFRecords -> a COCO instances dataset (images, annotations, categories), as Model
 * Garden's `coco_utils.scan_and_generator_annotation_file` builds the evaluation ground truth of
 * a Mask R-CNN task that has no `annotation_file` (official/vision/evaluation/coco_utils.py
 * `COCOGroundtruthGenerator` + `convert_groundtruths_to_coco_dataset`):
 *
 * - one image per record: id = the integer `image/source_id`, height and width;
 * - one annotation per object: `bbox` [x, y, w, h] from the normalised box times the image size,
 *   `area` = `image/object/area`, `iscrowd`, `category_id` = the class label;
 * - with `includeMask`: `segmentation` = the compressed RLE of the object's full-resolution PNG
 *   mask, every non-zero pixel foreground (MG sets mask > 0 to 255 before encoding);
 * - categories: the class ids that occur, ascending (MG passes no label map).
 *
 * Annotation ids count from 1 in record order. A source id seen twice is an error naming both
 * records (COCO image ids are unique).
 */
import { denormalizeBoxes } from '../../ops/box_ops.js';
import { rleToJson } from '../../ops/masks/coco_segmentation.js';
import { encodeMask } from '../../ops/masks/rle.js';
import { describeRecord, ExampleDecodeError } from '../decoders/errors.js';
import { TfExampleDecoder } from '../decoders/detection.js';
import { sourceIdNumber } from '../parsers/retinanet_parser.js';
import { readTFRecords } from '../tfrecord/reader.js';
import type { TFRecordSource } from '../tfrecord/file_patterns.js';

export interface TfRecordCocoOptions {
  /** Decode `image/object/mask` and add RLE segmentations (Model Garden `include_mask`). */
  includeMask: boolean;
}

/** The COCO instances JSON object (what pycocotools' `COCO.dataset` holds). */
export interface CocoInstancesJson {
  images: { id: number; height: number; width: number }[];
  annotations: {
    id: number;
    image_id: number;
    category_id: number;
    bbox: [number, number, number, number];
    area: number;
    iscrowd: number;
    segmentation?: { size: [number, number]; counts: string };
  }[];
  categories: { id: number }[];
}

/** Reads every record of `source` (file, glob, sharded spec or list) into a COCO dataset. */
export async function cocoInstancesFromTfRecords(
  source: TFRecordSource,
  opts: TfRecordCocoOptions,
): Promise<CocoInstancesJson> {
  // The image is decoded only when a record lacks image/height or image/width.
  const headerOnly = new TfExampleDecoder({ includeMask: opts.includeMask, decodeImage: false });
  const withImage = new TfExampleDecoder({ includeMask: opts.includeMask });
  const out: CocoInstancesJson = { images: [], annotations: [], categories: [] };
  const firstSeen = new Map<number, string>();
  const cats = new Set<number>();
  for await (const record of readTFRecords(source)) {
    const where = describeRecord(record);
    let ex;
    try {
      ex = await headerOnly.decode(record.data, record);
    } catch (err) {
      if (!(err instanceof ExampleDecodeError && err.key === 'image/height')) throw err;
      ex = await withImage.decode(record.data, record);
    }
    const id = sourceIdNumber(ex, where);
    const before = firstSeen.get(id);
    if (before !== undefined) {
      throw new ExampleDecodeError(
        record,
        'image/source_id',
        `source id ${id} was already used by ${before}; evaluation image ids must be unique`,
      );
    }
    firstSeen.set(id, where);
    const { height: h, width: w } = ex;
    out.images.push({ id, height: h, width: w });
    const boxes = ex.numInstances ? denormalizeBoxes(ex.boxes, h, w) : new Float32Array(0);
    for (let k = 0; k < ex.numInstances; k++) {
      const [y0, x0, y1, x1] = boxes.subarray(4 * k, 4 * k + 4);
      const category = ex.classes[k];
      cats.add(category);
      const ann: CocoInstancesJson['annotations'][number] = {
        id: out.annotations.length + 1,
        image_id: id,
        category_id: category,
        bbox: [x0, y0, x1 - x0, y1 - y0],
        area: ex.areas[k],
        iscrowd: ex.isCrowd[k] ? 1 : 0,
      };
      if (opts.includeMask) {
        const plane = ex.masks!.subarray(k * h * w, (k + 1) * h * w);
        ann.segmentation = rleToJson(encodeMask(plane, h, w));
      }
      out.annotations.push(ann);
    }
  }
  out.categories = [...cats].sort((a, b) => a - b).map((id) => ({ id }));
  return out;
}
