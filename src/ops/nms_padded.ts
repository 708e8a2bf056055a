/**
 * Batched, padded, multi-class non-max suppression: the post-processing of Model Garden's
 * detection generator (official/vision/modeling/layers/detection_generator.py) as one tfjs op
 * with static output shapes, so detection inference compiles to one ONNX graph.
 *
 * The semantics (candidate sets, tie-breaking, padding) are documented on the kernel,
 * src/core/backend/custom/nms_padded.ts. Model Garden's variants map onto the options:
 *  - `_generate_detections_v1`: `{ preNmsTopK, scoreThreshold, iouThreshold, maxNumDetections }`;
 *    v2 class-aware: the same with `tiled: true`;
 *  - v2 with `use_class_agnostic_nms`: `classAgnostic: true`;
 *  - `_generate_detections_batched` (combined NMS): `preNmsTopK` ≥ the number of anchors;
 *  - the ROI generator's `sorted_non_max_suppression_padded`: `tiled: true`.
 * Soft-NMS (`soft_nms_sigma`) is not provided. Not differentiable (no gradient is registered).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  NMS_PADDED,
  nmsPaddedShapes,
  registerCustomKernels,
  type NmsPaddedAttrs,
} from '../core/backend/custom/index.js';

registerCustomKernels();

export interface NmsPaddedOptions {
  /** K: detections kept per class and in all (Model Garden's `max_num_detections`, 100). */
  maxNumDetections?: number;
  /** Candidates per class before NMS (`pre_nms_top_k`, 5000). */
  preNmsTopK?: number;
  /** `nms_iou_threshold` (0.5): a box whose IoU with a kept one is above it is dropped. */
  iouThreshold?: number;
  /** `pre_nms_score_threshold` (0.05): scores not above it are dropped. */
  scoreThreshold?: number;
  /** One NMS over each anchor's best class (`use_class_agnostic_nms`, false). */
  classAgnostic?: boolean;
  /**
   * Model Garden's tiled `sorted_non_max_suppression_padded` (ops/nms.py): a box is suppressed
   * at IoU ≥ `iouThreshold` (not only above it; for a threshold above 0), and a box with no
   * positive coordinate (all zeros after clipping) is never selected (that NMS counts such boxes
   * as padding). Zero boxes leave the candidates before the pre-NMS top-k here, after it there:
   * exact when `preNmsTopK` ≥ N (take the top-k first otherwise, as the ROI generator does).
   * Not with `classAgnostic`. Default false (TF's NonMaxSuppressionV5 and ONNX's rule).
   */
  tiled?: boolean;
}

/** The largest float32 below the float32 nearest to `x` (x > 0). */
function float32Below(x: number): number {
  const a = new Float32Array([x]);
  new Int32Array(a.buffer)[0] -= 1;
  return a[0];
}

export interface NmsPaddedResult {
  /** [B, K, 4] [ymin, xmin, ymax, xmax], zero past the valid count. */
  boxes: tf.Tensor3D;
  /** [B, K] sorted scores, zero past the valid count. */
  scores: tf.Tensor2D;
  /** [B, K] int32 class ids, zero past the valid count. */
  classes: tf.Tensor2D;
  /** [B] int32 number of valid detections. */
  validDetections: tf.Tensor1D;
}

/**
 * NMS of `boxes` [B, N, 4] or [B, N, Cb, 4] (Cb = 1 or C) against `scores` [B, N, C], with Model
 * Garden's detection-generator defaults.
 */
export function nmsPadded(
  boxes: tf.Tensor3D | tf.Tensor4D,
  scores: tf.Tensor3D,
  opts: NmsPaddedOptions = {},
): NmsPaddedResult {
  const iouThreshold = opts.iouThreshold ?? 0.5;
  if (opts.tiled && opts.classAgnostic) {
    throw new Error('nmsPadded: tiled NMS is not provided with classAgnostic');
  }
  const attrs: NmsPaddedAttrs = {
    maxOutputSize: opts.maxNumDetections ?? 100,
    preNmsTopK: opts.preNmsTopK ?? 5000,
    // The kernel drops IoU > threshold; IoU is float32, so IoU ≥ t ⟺ IoU > the float32 below t.
    iouThreshold: opts.tiled && iouThreshold > 0 ? float32Below(iouThreshold) : iouThreshold,
    scoreThreshold: opts.scoreThreshold ?? 0.05,
    classAgnostic: opts.classAgnostic ?? false,
  };
  if (boxes.dtype !== 'float32' || scores.dtype !== 'float32') {
    throw new Error(
      `nmsPadded: boxes and scores must be float32, got ${boxes.dtype} and ${scores.dtype}`,
    );
  }
  return tf.tidy(() => {
    const b4 = boxes.rank === 3 ? tf.expandDims(boxes, 2) : boxes;
    nmsPaddedShapes(b4.shape, scores.shape, attrs);
    let s: tf.Tensor = scores;
    if (opts.tiled) {
      // [B, N, Cb]: the box has no positive coordinate; its scores fall below every threshold.
      const zero = tf.logicalNot(tf.any(tf.greater(b4, 0), -1));
      s = tf.where(tf.broadcastTo(zero, scores.shape), tf.fill(scores.shape, -Infinity), scores);
    }
    const out = tf
      .engine()
      .runKernel(
        NMS_PADDED,
        { boxes: b4, scores: s } as unknown as tf.NamedTensorMap,
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
    return {
      boxes: out[0] as tf.Tensor3D,
      scores: out[1] as tf.Tensor2D,
      classes: out[2] as tf.Tensor2D,
      validDetections: out[3] as tf.Tensor1D,
    };
  });
}
