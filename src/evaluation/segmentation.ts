/**
 * Semantic-segmentation mean IoU from a confusion matrix, as Model Garden's MeanIoU /
 * PerClassIoU (official/vision/evaluation/segmentation_metrics.py, on keras MeanIoU):
 *
 * - ONE confusion matrix `cm[gt][pred]` over all images, counting only pixels whose ground truth
 *   is not the ignore label (255) and that are inside the valid region;
 * - IoU_c = cm[c][c] / (rowsum_c + colsum_c - cm[c][c]);
 * - mIoU = mean over the classes with a non-zero denominator (a class absent from both ground
 *   truth and prediction is excluded; one present in only one of them counts with IoU 0).
 *
 * With `rescalePredictions`, logits are evaluated at the ORIGINAL image resolution: resized
 * bilinearly to ceil(scaled size / scale), shifted by the crop offset and cropped to the
 * original size (MG `_rescale_and_pad_predictions`); otherwise they are resized to the mask size.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface MeanIoUOptions {
  /** Ground-truth value that marks pixels to skip (Model Garden default 255). */
  ignoreLabel?: number;
  /** Evaluate at the original image size using `image_info` (MG `rescale_predictions`). */
  rescalePredictions?: boolean;
}

export interface MeanIoUResult {
  mean_iou: number;
  /** IoU per class; null where the class is absent from both GT and prediction. */
  per_class_iou: (number | null)[];
  pixel_accuracy: number;
  valid_pixels: number;
}

export class SegmentationMeanIoU {
  readonly ignoreLabel: number;
  readonly rescalePredictions: boolean;
  /** `[numClasses, numClasses]` row-major, rows = ground truth, columns = prediction. */
  readonly confusion: Float64Array;

  constructor(
    readonly numClasses: number,
    opts: MeanIoUOptions = {},
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new Error(
        `SegmentationMeanIoU: numClasses must be a positive integer, got ${numClasses}`,
      );
    }
    this.ignoreLabel = opts.ignoreLabel ?? 255;
    this.rescalePredictions = opts.rescalePredictions ?? false;
    this.confusion = new Float64Array(numClasses * numClasses);
  }

  /**
   * Adds label maps of equal length (any layout, same for both). `valid` (optional, same length)
   * marks pixels to count in addition to `gt != ignoreLabel`. Labels outside 0..numClasses-1
   * (other than the ignore label in `gt`) are an error naming the pixel.
   */
  updateLabels(gt: ArrayLike<number>, pred: ArrayLike<number>, valid?: ArrayLike<number>): void {
    if (gt.length !== pred.length || (valid && valid.length !== gt.length)) {
      throw new Error(
        `SegmentationMeanIoU: gt (${gt.length}), pred (${pred.length})` +
          `${valid ? ` and valid (${valid.length})` : ''} must have the same length`,
      );
    }
    const C = this.numClasses;
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i];
      if (g === this.ignoreLabel || (valid && !valid[i])) continue;
      const p = pred[i];
      if (!(g >= 0 && g < C && Number.isInteger(g))) {
        throw new Error(
          `SegmentationMeanIoU: ground-truth label ${g} at pixel ${i} is outside 0..${C - 1}`,
        );
      }
      if (!(p >= 0 && p < C && Number.isInteger(p))) {
        throw new Error(
          `SegmentationMeanIoU: predicted label ${p} at pixel ${i} is outside 0..${C - 1}`,
        );
      }
      this.confusion[g * C + p]++;
    }
  }

  /**
   * Adds a batch of logits `[B, h, w, C]` against masks `[B, H, W]` or `[B, H, W, 1]`.
   * `imageInfo` `[B, 4, 2]` (`[[orig h, w], [scaled h, w], [scale y, x], [offset y, x]]`) is
   * required with `rescalePredictions`; then only pixels inside the original image count.
   */
  async update(
    logits: tf.Tensor4D,
    masks: tf.Tensor,
    imageInfo?: tf.Tensor,
    validMasks?: tf.Tensor,
  ): Promise<void> {
    const [B, , , C] = logits.shape;
    if (C !== this.numClasses) {
      throw new Error(`SegmentationMeanIoU: logits have ${C} classes, expected ${this.numClasses}`);
    }
    const H = masks.shape[1] as number;
    const W = masks.shape[2] as number;
    const gt = await masks.data();
    const valid = validMasks ? await validMasks.data() : undefined;
    if (!this.rescalePredictions) {
      const pred = tf.tidy(() =>
        tf.argMax(tf.image.resizeBilinear(logits, [H, W], false, true), -1),
      );
      const p = await pred.data();
      pred.dispose();
      this.updateLabels(gt, p, valid);
      return;
    }
    if (!imageInfo) throw new Error('SegmentationMeanIoU: rescalePredictions needs imageInfo');
    const info = await imageInfo.data();
    for (let b = 0; b < B; b++) {
      const row = info.subarray(b * 8, b * 8 + 8);
      const [oh, ow] = [row[0], row[1]];
      const one = tf.slice(logits, [b, 0, 0, 0], [1, -1, -1, -1]);
      const p = rescaledClassIds(one, row);
      one.dispose();
      const gtImg: number[] = [];
      const predImg: number[] = [];
      const validImg: number[] = [];
      for (let y = 0; y < Math.min(oh, H); y++) {
        for (let x = 0; x < Math.min(ow, W); x++) {
          const i = (b * H + y) * W + x;
          gtImg.push(gt[i]);
          predImg.push(p[y * ow + x]);
          validImg.push(valid ? valid[i] : 1);
        }
      }
      this.updateLabels(gtImg, predImg, validImg);
    }
  }

  /** Per-class IoU, null for classes absent from both GT and prediction. */
  perClassIoU(): (number | null)[] {
    const C = this.numClasses;
    const cm = this.confusion;
    const out: (number | null)[] = [];
    for (let c = 0; c < C; c++) {
      let row = 0;
      let col = 0;
      for (let j = 0; j < C; j++) {
        row += cm[c * C + j];
        col += cm[j * C + c];
      }
      const tp = cm[c * C + c];
      const denom = row + col - tp;
      out.push(denom === 0 ? null : tp / denom);
    }
    return out;
  }

  /** Keras PerClassIoU style: 0 instead of null for excluded classes. */
  perClassIoUKeras(): number[] {
    return this.perClassIoU().map((v) => v ?? 0);
  }

  result(): MeanIoUResult {
    const per = this.perClassIoU();
    const used = per.filter((v): v is number => v !== null);
    const C = this.numClasses;
    let trace = 0;
    let total = 0;
    for (let i = 0; i < C; i++) trace += this.confusion[i * C + i];
    for (const v of this.confusion) total += v;
    return {
      mean_iou: used.length ? used.reduce((s, v) => s + v, 0) / used.length : 0,
      per_class_iou: per,
      pixel_accuracy: total ? trace / total : 0,
      valid_pixels: total,
    };
  }

  reset(): void {
    this.confusion.fill(0);
  }
}

/**
 * One image's class ids at its original size ([original height · width], row-major) from its
 * logits [1, h, w, C] and its image_info row (8 numbers: original, scaled size, scale, offset):
 * MG `_rescale_and_pad_predictions` — logits resized bilinearly to ceil(scaled size / scale),
 * shifted by the offset and cropped to the original size; outside the rescaled prediction MG's
 * canvas holds zero logits, so argmax 0.
 */
export function rescaledClassIds(logits: tf.Tensor, info: ArrayLike<number>): Int32Array {
  const [oh, ow, sh, sw, scy, scx, offy, offx] = Array.from(info);
  // image_info is float32 and MG divides in float32 (64 / 0.64f is 100 there, 100.000002 in
  // float64): the quotient rounded to float32.
  const rh = Math.ceil(Math.fround(sh / scy));
  const rw = Math.ceil(Math.fround(sw / scx));
  const pred = tf.tidy(() =>
    tf.argMax(tf.image.resizeBilinear(logits as tf.Tensor4D, [rh, rw], false, true), -1),
  );
  const p = pred.dataSync();
  pred.dispose();
  const out = new Int32Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const sy = y + Math.trunc(offy);
      const sx = x + Math.trunc(offx);
      if (sy >= 0 && sy < rh && sx >= 0 && sx < rw) out[y * ow + x] = p[sy * rw + sx];
    }
  }
  return out;
}
