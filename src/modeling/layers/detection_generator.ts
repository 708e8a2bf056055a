/**
 * Model Garden's `MultilevelDetectionGenerator` (official/vision/modeling/layers/
 * detection_generator.py) in tfjs ops, so inference compiles to one graph:
 *
 *  1. per level, class logits [B, H, W, A·C] → sigmoid scores [B, H·W·A, C] with the background
 *     class 0 dropped, box codes [B, H, W, A·4] decoded against that level's anchors
 *     (box_ops.decode_boxes with `box_coder_weights`), clipped to each image's [height, width];
 *  2. levels concatenated: boxes [B, N, 1, 4] (class-agnostic regression), scores [B, N, C − 1];
 *  3. padded NMS ({@link nmsPadded}) as `nms_version` v1, v2 (optionally class-agnostic) or
 *     batched (combined NMS: no pre-NMS top-k); classes + 1 for the background offset.
 *
 * Not provided (rejected when configured): `nms_version` v3 and tflite, soft-NMS
 * (`soft_nms_sigma`), attribute outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { clipBoxesTensor, decodeBoxesTensor, type BoxCoderWeights } from '../../ops/box_ops.js';
import { nmsPadded } from '../../ops/nms_padded.js';

export const NMS_VERSIONS = ['v1', 'v2', 'batched'] as const;
export type NmsVersion = (typeof NMS_VERSIONS)[number];

/** Model Garden's `DetectionGenerator` config fields the generator reads (configs/retinanet.py). */
export interface DetectionGeneratorOptions {
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
  /** Default 'v2' (the config default; the layer's own is v1). */
  nmsVersion?: string;
  /** Soft-NMS is not provided: must be null. */
  softNmsSigma?: number | null;
  /** Also return the decoded boxes and scores when NMS is applied. */
  returnDecoded?: boolean | null;
  /** One NMS over each anchor's best class; only with v2 (as Model Garden). */
  useClassAgnosticNms?: boolean | null;
  /** Box coder weights [wy, wx, wh, ww]; null = none. */
  boxCoderWeights?: readonly number[] | null;
}

export interface DetectionOutputs {
  /** [B, K, 4] in the image coordinates of the anchors. */
  detection_boxes?: tf.Tensor;
  /** [B, K]. */
  detection_scores?: tf.Tensor;
  /** [B, K] int32, 1-based (0 is the background). */
  detection_classes?: tf.Tensor;
  /** [B] int32. */
  num_detections?: tf.Tensor;
  /** [B, N, 1, 4] all decoded boxes (apply_nms false, or return_decoded). */
  decoded_boxes?: tf.Tensor;
  /** [B, N, C − 1] their sigmoid scores. */
  decoded_box_scores?: tf.Tensor;
}

function check(cond: boolean, field: string, want: string, got: unknown): void {
  if (!cond) {
    throw new Error(
      `task.model.detection_generator.${field} must be ${want}, got ${JSON.stringify(got)}`,
    );
  }
}

export class MultilevelDetectionGenerator {
  readonly applyNms: boolean;
  readonly preNmsTopK: number;
  readonly preNmsScoreThreshold: number;
  readonly nmsIouThreshold: number;
  readonly maxNumDetections: number;
  readonly nmsVersion: NmsVersion;
  readonly returnDecoded: boolean;
  readonly useClassAgnosticNms: boolean;
  readonly boxCoderWeights: BoxCoderWeights | null;

  constructor(opts: DetectionGeneratorOptions = {}) {
    this.applyNms = opts.applyNms ?? true;
    this.preNmsTopK = opts.preNmsTopK ?? 5000;
    this.preNmsScoreThreshold = opts.preNmsScoreThreshold ?? 0.05;
    this.nmsIouThreshold = opts.nmsIouThreshold ?? 0.5;
    this.maxNumDetections = opts.maxNumDetections ?? 100;
    const version = opts.nmsVersion ?? 'v2';
    check(
      (NMS_VERSIONS as readonly string[]).includes(version),
      'nms_version',
      `one of ${NMS_VERSIONS.join(', ')} (v3 and tflite are not provided)`,
      version,
    );
    this.nmsVersion = version as NmsVersion;
    check(
      opts.softNmsSigma == null,
      'soft_nms_sigma',
      'null (soft-NMS is not provided)',
      opts.softNmsSigma,
    );
    this.returnDecoded = opts.returnDecoded ?? false;
    this.useClassAgnosticNms = opts.useClassAgnosticNms ?? false;
    if (this.useClassAgnosticNms && this.nmsVersion !== 'v2') {
      throw new Error(
        `task.model.detection_generator.use_class_agnostic_nms needs nms_version v2 (as Model Garden), got ${this.nmsVersion}`,
      );
    }
    check(
      Number.isInteger(this.preNmsTopK) && this.preNmsTopK > 0,
      'pre_nms_top_k',
      'a positive integer',
      this.preNmsTopK,
    );
    check(
      Number.isInteger(this.maxNumDetections) && this.maxNumDetections > 0,
      'max_num_detections',
      'a positive integer',
      this.maxNumDetections,
    );
    check(
      this.nmsIouThreshold >= 0 && this.nmsIouThreshold <= 1,
      'nms_iou_threshold',
      'in [0, 1]',
      this.nmsIouThreshold,
    );
    check(
      Number.isFinite(this.preNmsScoreThreshold),
      'pre_nms_score_threshold',
      'a number',
      this.preNmsScoreThreshold,
    );
    const w = opts.boxCoderWeights ?? null;
    check(
      w === null || (w.length === 4 && w.every((v) => Number.isFinite(v) && v > 0)),
      'box_coder_weights',
      'null or 4 positive numbers',
      w,
    );
    this.boxCoderWeights = w ? [w[0], w[1], w[2], w[3]] : null;
  }

  /**
   * Decodes every level: boxes [B, N, 1, 4] and scores [B, N, C − 1], levels in increasing order
   * (Model Garden `_decode_multilevel_outputs`). Anchors per level are [H, W, A·4] (shared by the
   * batch) or [B, H, W, A·4]; `imageShape` [B, 2] clips, null skips clipping.
   */
  decode(
    rawBoxes: Record<string, tf.Tensor>,
    rawScores: Record<string, tf.Tensor>,
    anchorBoxes: Record<string, tf.Tensor>,
    imageShape: tf.Tensor | null,
  ): { boxes: tf.Tensor; scores: tf.Tensor } {
    const levels = Object.keys(rawBoxes)
      .map(Number)
      .sort((a, b) => a - b);
    if (levels.length === 0) throw new Error('detection generator: no levels in the box outputs');
    return tf.tidy(() => {
      const boxes: tf.Tensor[] = [];
      const scores: tf.Tensor[] = [];
      for (const level of levels) {
        const key = String(level);
        const b = rawBoxes[key];
        const s = rawScores[key];
        const a = anchorBoxes[key];
        if (!s || !a) {
          throw new Error(
            `detection generator: level ${key} has box outputs but no ${!s ? 'class outputs' : 'anchor boxes'}`,
          );
        }
        if (b.rank !== 4 || s.rank !== 4 || (b.shape[3] as number) % 4 !== 0) {
          throw new Error(
            `detection generator: level ${key} outputs must be [B, H, W, A·4] and [B, H, W, A·C], got [${b.shape}] and [${s.shape}]`,
          );
        }
        const [batch, h, w, a4] = b.shape as [number, number, number, number];
        const perLocation = a4 / 4;
        const n = h * w * perLocation;
        const numClasses = (s.shape[3] as number) / perLocation;
        if (!Number.isInteger(numClasses) || s.shape[1] !== h || s.shape[2] !== w) {
          throw new Error(
            `detection generator: level ${key} class outputs [${s.shape}] do not match box outputs [${b.shape}]`,
          );
        }
        if (a.size !== n * 4 && a.size !== batch * n * 4) {
          throw new Error(
            `detection generator: level ${key} anchors [${a.shape}] do not match box outputs [${b.shape}]`,
          );
        }
        // Sigmoid scores without the implicit background class 0.
        const sc = tf.sigmoid(tf.reshape(s, [batch, n, numClasses]));
        scores.push(tf.slice(sc, [0, 0, 1], [-1, -1, -1]));
        const anchors = tf.reshape(a, [a.size === n * 4 ? 1 : batch, n, 4]);
        let decoded = decodeBoxesTensor(
          tf.reshape(b, [batch, n, 4]),
          anchors,
          this.boxCoderWeights,
        );
        if (decoded.shape[0] !== batch) decoded = tf.tile(decoded, [batch, 1, 1]);
        if (imageShape) decoded = clipBoxesTensor(decoded, imageShape);
        boxes.push(decoded);
      }
      return {
        boxes: tf.expandDims(tf.concat(boxes, 1), 2),
        scores: tf.concat(scores, 1),
      };
    });
  }

  /** Detections (or the decoded boxes when `apply_nms` is false), Model Garden's output keys. */
  apply(
    rawBoxes: Record<string, tf.Tensor>,
    rawScores: Record<string, tf.Tensor>,
    anchorBoxes: Record<string, tf.Tensor>,
    imageShape: tf.Tensor | null,
  ): DetectionOutputs {
    return tf.tidy(() => {
      const { boxes, scores } = this.decode(rawBoxes, rawScores, anchorBoxes, imageShape);
      const decoded = { decoded_boxes: boxes, decoded_box_scores: scores };
      if (!this.applyNms) return decoded;
      const r = nmsPadded(boxes as tf.Tensor4D, scores as tf.Tensor3D, {
        maxNumDetections: this.maxNumDetections,
        // Combined NMS (batched) takes every candidate of a class.
        preNmsTopK: this.nmsVersion === 'batched' ? boxes.shape[1] : this.preNmsTopK,
        iouThreshold: this.nmsIouThreshold,
        scoreThreshold: this.preNmsScoreThreshold,
        classAgnostic: this.useClassAgnosticNms,
      });
      return {
        ...(this.returnDecoded ? decoded : {}),
        num_detections: r.validDetections,
        detection_boxes: r.boxes,
        // Model Garden adds 1 to every slot to offset the background class.
        detection_classes: tf.add(r.classes, tf.scalar(1, 'int32')),
        detection_scores: r.scores,
      };
    });
  }
}
