/**
 * Model Garden's two-stage `DetectionGenerator` (official/vision/modeling/layers/
 * detection_generator.py), used by Mask R-CNN and Cascade R-CNN, in tfjs ops with static shapes:
 *
 *  1. class logits [B, K, C] → softmax (or sigmoid with `use_sigmoid_probability`), the
 *     background class 0 dropped: [B, K, C − 1];
 *  2. box codes [B, K, 4·C] (per class; class 0 dropped) or [B, K, 4] (class-agnostic) decoded
 *     against the RoIs [B, K, 4] with the stage's regression weights, clipped to `image_shape`;
 *  3. padded NMS ({@link nmsPadded}) as `nms_version` v1 or v2 (per class) or batched; classes
 *     + 1 for the background offset.
 *
 * Rejected when set: soft-NMS (`soft_nms_sigma`), `nms_version` v3/tflite.
 */
import * as tf from '@tensorflow/tfjs-core';
import { clipBoxesTensor, decodeBoxesTensor, type BoxCoderWeights } from '../../ops/box_ops.js';
import { nmsPadded } from '../../ops/nms_padded.js';
import { NMS_VERSIONS, type DetectionOutputs, type NmsVersion } from './detection_generator.js';

export interface RCNNDetectionGeneratorOptions {
  /** Default true. */
  applyNms?: boolean;
  /** Default 5000. */
  preNmsTopK?: number;
  /** Default 0.05. */
  preNmsScoreThreshold?: number;
  /** Default 0.5. */
  nmsIouThreshold?: number;
  /** Default 100. */
  maxNumDetections?: number;
  /** Default 'v2'. */
  nmsVersion?: string;
  /** Must be null (soft-NMS is not provided). */
  softNmsSigma?: number | null;
  /** Sigmoid class probabilities instead of softmax; default false. */
  useSigmoidProbability?: boolean;
}

function fail(field: string, want: string, got: unknown): never {
  throw new Error(
    `task.model.detection_generator.${field} must be ${want}, got ${JSON.stringify(got)}`,
  );
}

export class RCNNDetectionGenerator {
  readonly applyNms: boolean;
  readonly preNmsTopK: number;
  readonly preNmsScoreThreshold: number;
  readonly nmsIouThreshold: number;
  readonly maxNumDetections: number;
  readonly nmsVersion: NmsVersion;
  readonly useSigmoidProbability: boolean;

  constructor(opts: RCNNDetectionGeneratorOptions = {}) {
    this.applyNms = opts.applyNms ?? true;
    this.preNmsTopK = opts.preNmsTopK ?? 5000;
    this.preNmsScoreThreshold = opts.preNmsScoreThreshold ?? 0.05;
    this.nmsIouThreshold = opts.nmsIouThreshold ?? 0.5;
    this.maxNumDetections = opts.maxNumDetections ?? 100;
    this.useSigmoidProbability = opts.useSigmoidProbability ?? false;
    const version = opts.nmsVersion ?? 'v2';
    if (!(NMS_VERSIONS as readonly string[]).includes(version)) {
      fail(
        'nms_version',
        `one of ${NMS_VERSIONS.join(', ')} (v3 and tflite are not provided)`,
        version,
      );
    }
    this.nmsVersion = version as NmsVersion;
    if (opts.softNmsSigma != null)
      fail('soft_nms_sigma', 'null (soft-NMS is not provided)', opts.softNmsSigma);
    if (!Number.isInteger(this.preNmsTopK) || this.preNmsTopK < 1)
      fail('pre_nms_top_k', 'a positive integer', this.preNmsTopK);
    if (!Number.isInteger(this.maxNumDetections) || this.maxNumDetections < 1)
      fail('max_num_detections', 'a positive integer', this.maxNumDetections);
    if (!(this.nmsIouThreshold >= 0 && this.nmsIouThreshold <= 1))
      fail('nms_iou_threshold', 'in [0, 1]', this.nmsIouThreshold);
    if (!Number.isFinite(this.preNmsScoreThreshold))
      fail('pre_nms_score_threshold', 'a number', this.preNmsScoreThreshold);
  }

  /**
   * Detections from one stage's outputs: `rawBoxes` [B, K, 4·C] or [B, K, 4], `rawScores`
   * [B, K, C] logits, `rois` [B, K, 4], `imageShape` [B, 2] or null (no clipping).
   */
  apply(
    rawBoxes: tf.Tensor,
    rawScores: tf.Tensor,
    rois: tf.Tensor,
    imageShape: tf.Tensor | null,
    regressionWeights: BoxCoderWeights | null,
    bboxPerClass: boolean,
  ): DetectionOutputs {
    if (rawScores.rank !== 3 || rois.rank !== 3) {
      throw new Error(
        `detection generator: class outputs must be [B, K, C] and RoIs [B, K, 4], got [${rawScores.shape}] and [${rois.shape}]`,
      );
    }
    const [b, k, c] = rawScores.shape as number[];
    const boxWidth = bboxPerClass ? 4 * c : 4;
    if (
      rawBoxes.rank !== 3 ||
      rawBoxes.shape[0] !== b ||
      rawBoxes.shape[1] !== k ||
      rawBoxes.shape[2] !== boxWidth
    ) {
      throw new Error(
        `detection generator: box outputs must be [${b}, ${k}, ${boxWidth}], got [${rawBoxes.shape}]`,
      );
    }
    return tf.tidy(() => {
      const probs = this.useSigmoidProbability ? tf.sigmoid(rawScores) : tf.softmax(rawScores, -1);
      const scores = tf.slice(probs, [0, 0, 1], [-1, -1, -1]);
      let boxes: tf.Tensor;
      if (bboxPerClass) {
        const codes = tf.slice(tf.reshape(rawBoxes, [b, k, c, 4]), [0, 0, 1, 0], [-1, -1, -1, -1]);
        const decoded = decodeBoxesTensor(codes, tf.expandDims(rois, 2), regressionWeights);
        const flat = tf.reshape(decoded, [b, k * (c - 1), 4]);
        boxes = tf.reshape(imageShape ? clipBoxesTensor(flat, imageShape) : flat, [b, k, c - 1, 4]);
      } else {
        const decoded = decodeBoxesTensor(rawBoxes, rois, regressionWeights);
        boxes = tf.expandDims(imageShape ? clipBoxesTensor(decoded, imageShape) : decoded, 2);
      }
      if (!this.applyNms) return { decoded_boxes: boxes, decoded_box_scores: scores };
      const r = nmsPadded(boxes as tf.Tensor4D, scores as tf.Tensor3D, {
        maxNumDetections: this.maxNumDetections,
        // Combined NMS (batched) takes every candidate of a class.
        preNmsTopK: this.nmsVersion === 'batched' ? k : this.preNmsTopK,
        iouThreshold: this.nmsIouThreshold,
        scoreThreshold: this.preNmsScoreThreshold,
      });
      return {
        num_detections: r.validDetections,
        detection_boxes: r.boxes,
        detection_classes: tf.add(r.classes, tf.scalar(1, 'int32')),
        detection_scores: r.scores,
      };
    });
  }
}
