/**
 * Batched, padded, multi-class non-max suppression: the post-processing of Model Garden's
 * detection generator (official/vision/modeling/layers/detection_generator.py) as one tfjs op
 * with static output shapes, so detection inference compiles to one ONNX graph.
 *
 * The semantics (candidate sets, tie-breaking, padding) are documented on the kernel,
 * src/core/backend/custom/nms_padded.ts. Model Garden's variants map onto the options:
 *  - `_generate_detections_v1` and v2 class-aware: `{ preNmsTopK, scoreThreshold, iouThreshold,
 *    maxNumDetections }` (v2's tiled NMS drops IoU exactly equal to the threshold, this keeps it);
 *  - v2 with `use_class_agnostic_nms`: `classAgnostic: true`;
 *  - `_generate_detections_batched` (combined NMS): `preNmsTopK` ≥ the number of anchors.
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
  const attrs: NmsPaddedAttrs = {
    maxOutputSize: opts.maxNumDetections ?? 100,
    preNmsTopK: opts.preNmsTopK ?? 5000,
    iouThreshold: opts.iouThreshold ?? 0.5,
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
    const out = tf
      .engine()
      .runKernel(
        NMS_PADDED,
        { boxes: b4, scores } as unknown as tf.NamedTensorMap,
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
