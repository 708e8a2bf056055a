/**
 * Streaming COCO evaluation for training loops, after Model Garden's COCOEvaluator
 * (official/vision/evaluation/coco_evaluator.py and coco_utils.py):
 *
 * - `update()` takes one batch of detections in the model's input frame: boxes
 *   `[ymin, xmin, ymax, xmax]` are mapped back to the original image by undoing `image_info`
 *   (`[[orig h, w], [scaled h, w], [scale y, x], [offset y, x]]`: box = (box + offset) / scale;
 *   Model Garden divides by the scale, the offset being 0 at evaluation), converted to
 *   `[x, y, w, h]`; box-relative instance masks are pasted at the original image size
 *   (`paste_instance_masks`) and RLE-encoded;
 * - `evaluate()` runs {@link CocoEval} for bbox (and segm with masks) on the images seen, with
 *   the metric names Model Garden logs (`AP`, ..., `ARl`, `mask_AP`, ...);
 * - `writeResults()` writes COCO `results.json` readable by pycocotools and `evaluate-coco`
 *   (atomically; non-finite scores as Python's json writes them: NaN, Infinity).
 * Only the first `numDetections[b]` detections of each image are kept (Model Garden keeps the
 * padded slots too, with score 0). Detections of a class that is not a ground-truth category are
 * dropped, as COCOeval evaluates only the ground truth's categories.
 */
import * as tf from '@tensorflow/tfjs-core';
import { rleToJson } from '../../ops/masks/coco_segmentation.js';
import { pasteInstanceMaskRle } from '../../ops/masks/paste.js';
import { CocoEval } from './cocoeval.js';
import { type CocoGroundTruth, type CocoResult, CocoFormatError, type ImageId } from './dataset.js';
import { writeAllSync, writeFileAtomicSync } from '../../core/atomic_write.js';
import { fileError } from '../../core/fs_errors.js';
import { STAT_NAMES } from './params.js';
import { stringifyPythonJson } from './python_json.js';
import { perCategoryResults } from './summary.js';

/** One batch of detections (flat row-major arrays). */
export interface DetectionBatch {
  /** `[B]` image ids (`source_id`). */
  sourceIds: ArrayLike<number>;
  /** `[B, K, 4]` boxes `[ymin, xmin, ymax, xmax]`, in input pixels (original pixels without rescaling). */
  boxes: ArrayLike<number>;
  /** `[B, K]` category ids. */
  classes: ArrayLike<number>;
  /** `[B, K]` scores. */
  scores: ArrayLike<number>;
  /** `[B]` valid detections per image (default K). */
  numDetections?: ArrayLike<number>;
  /** `[B, 4, 2]` image_info; needed when boxes are rescaled. */
  imageInfo?: ArrayLike<number>;
  /** `[B, K, maskHeight, maskWidth]` box-relative mask probabilities. */
  masks?: ArrayLike<number>;
  /** `[maskHeight, maskWidth]` of `masks`. */
  maskSize?: [number, number];
}

/** The same batch as tensors (as a detection model outputs it). */
export interface DetectionTensors {
  sourceIds: tf.Tensor;
  boxes: tf.Tensor;
  classes: tf.Tensor;
  scores: tf.Tensor;
  numDetections?: tf.Tensor;
  imageInfo?: tf.Tensor;
  masks?: tf.Tensor;
}

export interface StreamingOptions {
  groundTruth: CocoGroundTruth;
  /** Also evaluate masks (segm) — batches must then carry `masks`. */
  includeMask?: boolean;
  /** Undo image_info scaling on boxes (Model Garden `need_rescale_bboxes`, default true). */
  rescaleBoxes?: boolean;
  /** maxDets[2] of the evaluation (Model Garden `max_num_eval_detections`, default 100). */
  maxDetections?: number;
  /** Add Model Garden's per-category entries (`Precision mAP ByCategory/<name>`, ...). */
  perCategoryMetrics?: boolean;
}

/** Model Garden's per-category metric names (coco_evaluator.py), in stats order. */
const PER_CATEGORY_KEYS = [
  'Precision mAP ByCategory',
  'Precision mAP ByCategory@50IoU',
  'Precision mAP ByCategory@75IoU',
  'Precision mAP ByCategory (small)',
  'Precision mAP ByCategory (medium)',
  'Precision mAP ByCategory (large)',
  'Recall AR@1 ByCategory',
  'Recall AR@10 ByCategory',
  'Recall AR@100 ByCategory',
  'Recall AR (small) ByCategory',
  'Recall AR (medium) ByCategory',
  'Recall AR (large) ByCategory',
];

/** `len` values of `a` from `off` (no copy for typed arrays). */
function sliceOf(a: ArrayLike<number>, off: number, len: number): ArrayLike<number> {
  if (off + len > a.length)
    throw new Error(`update: masks hold ${a.length} values, need ${off + len}`);
  if (ArrayBuffer.isView(a)) return (a as Float32Array).subarray(off, off + len);
  return Array.from({ length: len }, (_, i) => a[off + i]);
}

export class CocoStreamingEvaluator {
  private results: CocoResult[] = [];
  private seen = new Set<ImageId>();
  private readonly gt: CocoGroundTruth;
  private readonly includeMask: boolean;
  private readonly rescaleBoxes: boolean;
  private readonly maxDetections: number;
  private readonly perCategory: boolean;

  constructor(opts: StreamingOptions) {
    this.gt = opts.groundTruth;
    this.includeMask = opts.includeMask ?? false;
    this.rescaleBoxes = opts.rescaleBoxes ?? true;
    this.maxDetections = opts.maxDetections ?? 100;
    this.perCategory = opts.perCategoryMetrics ?? false;
    if (!Number.isInteger(this.maxDetections) || this.maxDetections < 1) {
      throw new Error(`maxDetections must be a positive integer, got ${opts.maxDetections}`);
    }
  }

  /** Adds one batch (see {@link DetectionBatch}). Bad entries throw, naming image and slot. */
  update(batch: DetectionBatch): void {
    const B = batch.sourceIds.length;
    if (B === 0) return;
    const K = batch.classes.length / B;
    if (!Number.isInteger(K) || batch.scores.length !== B * K || batch.boxes.length !== B * K * 4) {
      throw new Error(
        `update: sizes disagree: ${B} images, ${batch.classes.length} classes, ` +
          `${batch.scores.length} scores, ${batch.boxes.length / 4} boxes`,
      );
    }
    if (this.rescaleBoxes && (!batch.imageInfo || batch.imageInfo.length !== B * 8)) {
      throw new Error('update: imageInfo [B, 4, 2] is required to rescale boxes');
    }
    if (this.includeMask && (!batch.masks || !batch.maskSize)) {
      throw new Error('update: includeMask needs masks [B, K, mh, mw] and maskSize');
    }
    const [mh, mw] = batch.maskSize ?? [0, 0];
    const staged: CocoResult[] = [];
    const stagedIds: ImageId[] = [];
    for (let b = 0; b < B; b++) {
      const imageId = batch.sourceIds[b];
      const img = this.gt.imgIndex.get(imageId);
      if (img === undefined) {
        throw new CocoFormatError(
          `update: batch image ${b}: source_id ${imageId} is not in the ground truth`,
        );
      }
      const n = batch.numDetections ? batch.numDetections[b] : K;
      if (!(Number.isInteger(n) && n >= 0 && n <= K)) {
        throw new Error(`update: image ${imageId}: numDetections ${n} is outside 0..${K}`);
      }
      const [sy, sx, oy, ox] = this.rescaleBoxes
        ? [
            batch.imageInfo![b * 8 + 4],
            batch.imageInfo![b * 8 + 5],
            batch.imageInfo![b * 8 + 6],
            batch.imageInfo![b * 8 + 7],
          ]
        : [1, 1, 0, 0];
      if (!(sy > 0 && sx > 0))
        throw new Error(`update: image ${imageId}: image_info scale [${sy}, ${sx}] must be > 0`);
      const H = this.gt.heights[img];
      const W = this.gt.widths[img];
      for (let k = 0; k < n; k++) {
        const j = b * K + k;
        const what = `update: image ${imageId}, detection ${k}`;
        const score = batch.scores[j];
        const cls = batch.classes[j];
        // COCOeval evaluates only the ground truth's categories: other classes are dropped.
        if (!this.gt.catIndex.has(cls)) continue;
        const ymin = (batch.boxes[j * 4] + oy) / sy;
        const xmin = (batch.boxes[j * 4 + 1] + ox) / sx;
        const ymax = (batch.boxes[j * 4 + 2] + oy) / sy;
        const xmax = (batch.boxes[j * 4 + 3] + ox) / sx;
        const bbox = [xmin, ymin, xmax - xmin, ymax - ymin];
        if (this.includeMask && !bbox.every(Number.isFinite)) {
          throw new CocoFormatError(`${what}: a box to paste a mask into must be finite`);
        }
        const r: CocoResult = { image_id: imageId, category_id: cls, bbox, score };
        if (this.includeMask) {
          const off = j * mh * mw;
          const mask = sliceOf(batch.masks as ArrayLike<number>, off, mh * mw);
          r.segmentation = rleToJson(pasteInstanceMaskRle(mask, mh, mw, bbox, H, W));
        }
        staged.push(r);
      }
      stagedIds.push(imageId);
    }
    this.results.push(...staged);
    for (const id of stagedIds) this.seen.add(id);
  }

  /** Reads tensors (detection model outputs) and calls {@link update}. */
  async updateFromTensors(t: DetectionTensors): Promise<void> {
    const read = async (x?: tf.Tensor) => (x ? await x.data() : undefined);
    const [sourceIds, boxes, classes, scores, numDetections, imageInfo, masks] = await Promise.all([
      read(t.sourceIds),
      read(t.boxes),
      read(t.classes),
      read(t.scores),
      read(t.numDetections),
      read(t.imageInfo),
      read(t.masks),
    ]);
    this.update({
      sourceIds: sourceIds!,
      boxes: boxes!,
      classes: classes!,
      scores: scores!,
      numDetections,
      imageInfo,
      masks,
      maskSize: t.masks ? [t.masks.shape[2] as number, t.masks.shape[3] as number] : undefined,
    });
  }

  /** The accumulated detections in COCO results format (boxes `[x, y, w, h]`, original pixels). */
  cocoResults(): CocoResult[] {
    return this.results;
  }

  /** Writes the accumulated detections as COCO `results.json`. */
  writeResults(path: string): void {
    try {
      writeFileAtomicSync(path, (fd) => writeAllSync(fd, stringifyPythonJson(this.results)));
    } catch (err) {
      throw fileError(err, 'write COCO results', path);
    }
  }

  /** Runs the COCO evaluation on the images seen so far. */
  evaluate(): Record<string, number> {
    const metrics: Record<string, number> = {};
    const imgIds = [...this.seen];
    const names = STAT_NAMES.map((n) => (n === 'ARmax100' ? `ARmax${this.maxDetections}` : n));
    const types: ['bbox' | 'segm', string][] = [['bbox', '']];
    if (this.includeMask) types.push(['segm', 'mask_']);
    const dt = this.gt.loadResults(this.results, 'streamed detections');
    for (const [iouType, prefix] of types) {
      const ev = new CocoEval(this.gt, dt, iouType, {
        imgIds,
        maxDets: [1, 10, this.maxDetections],
      });
      const stats = ev.run();
      names.forEach((n, i) => (metrics[prefix + n] = stats[i]));
      if (this.perCategory) {
        const space = prefix ? 'mask ' : '';
        for (const c of perCategoryResults(ev)) {
          PER_CATEGORY_KEYS.forEach((key, i) => (metrics[`${space}${key}/${c.name}`] = c.stats[i]));
        }
      }
    }
    return metrics;
  }

  /** {@link evaluate}, then {@link reset} (Model Garden `result()`). */
  result(): Record<string, number> {
    const m = this.evaluate();
    this.reset();
    return m;
  }

  reset(): void {
    this.results = [];
    this.seen.clear();
  }
}
