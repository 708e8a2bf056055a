/**
 * Model Garden's `MaskSampler` (official/vision/modeling/layers/mask_sampler.py): takes the first
 * `numSampledMasks` foreground RoIs of the RoI sampler's output (class > 0, in index order; then
 * background ones to fill, as top_k on the 0/1 indicator), their classes, and as targets the GT
 * mask of each (cropped to its GT box by the parser) re-sampled inside the RoI at
 * `maskTargetSize` with sample offset 0.5 (crop_mask_in_target_box).
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchGather, firstTrueIndices } from '../../ops/box_ops.js';
import { cropMaskInTargetBox } from '../../ops/crop_mask.js';

export interface MaskSamplerOutputs {
  /** [B, K, 4] the RoIs of the sampled masks. */
  rois: tf.Tensor;
  /** [B, K] their classes (0: background, no loss), float32. */
  classes: tf.Tensor;
  /** [B, K, T, T] mask targets in [0, 1]. */
  masks: tf.Tensor;
}

export class MaskSampler {
  constructor(
    readonly maskTargetSize: number,
    readonly numSampledMasks: number,
  ) {
    for (const [name, v] of [
      ['mask_target_size', maskTargetSize],
      ['mask_sampler.num_sampled_masks', numSampledMasks],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new Error(`${name} must be a positive integer, got ${v}`);
    }
  }

  /**
   * @param rois [B, N, 4] the RoI sampler's RoIs
   * @param gtBoxes [B, N, 4] their matched GT boxes
   * @param gtClasses [B, N] their classes (0 background)
   * @param gtIndices [B, N] their GT indices (−1 background)
   * @param gtMasks [B, M, S, S] the GT masks cropped to their boxes
   */
  apply(
    rois: tf.Tensor,
    gtBoxes: tf.Tensor,
    gtClasses: tf.Tensor,
    gtIndices: tf.Tensor,
    gtMasks: tf.Tensor,
  ): MaskSamplerOutputs {
    const n = rois.shape[1] as number;
    if (n < this.numSampledMasks) {
      throw new Error(
        `mask sampler: ${n} sampled RoIs are fewer than mask_sampler.num_sampled_masks ${this.numSampledMasks}`,
      );
    }
    return tf.tidy(() => {
      const fg = firstTrueIndices(tf.greater(gtClasses, 0), this.numSampledMasks);
      const fgRois = batchGather(rois, fg);
      const fgBoxes = batchGather(gtBoxes, fg);
      const fgClasses = tf.squeeze(batchGather(tf.expandDims(gtClasses, -1), fg), [-1]);
      const idx = tf.squeeze(batchGather(tf.expandDims(gtIndices, -1), fg), [-1]);
      const fgMasks = batchGather(tf.cast(gtMasks, 'float32'), tf.maximum(idx, 0));
      const masks = cropMaskInTargetBox(fgMasks, fgBoxes, fgRois, this.maskTargetSize, 0.5);
      return { rois: fgRois, classes: fgClasses, masks } as unknown as tf.TensorContainer;
    }) as unknown as MaskSamplerOutputs;
  }
}
