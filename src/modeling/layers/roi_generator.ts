/**
 * Model Garden's `MultilevelROIGenerator` (official/vision/modeling/layers/roi_generator.py
 * `_multilevel_propose_rois`) in tfjs ops with static shapes:
 *
 *  1. per level (increasing): RPN logits [B, H, W, A] → sigmoid scores [B, N] (exactly 1 where
 *     TF's float32 sigmoid saturates, ops/score_sigmoid.ts), box codes
 *     [B, H, W, 4·A] decoded against the level's anchors (no coder weights), clipped to each
 *     image's [height, width];
 *  2. per level: the min(N, pre_nms_top_k) best scores, NMS at `nms_iou_threshold`, keeping
 *     min(N, num_proposals) (zero boxes and scores past the kept count) with the rules of Model
 *     Garden's tiled `sorted_non_max_suppression_padded` (ops/nms.py): IoU equal to the
 *     threshold suppresses, and a box clipped to all zeros is padding, not a proposal; with a
 *     threshold of 0, the top min(N, num_proposals) without NMS;
 *  3. the levels' kept boxes concatenated and the overall top min(total, num_proposals) by score
 *     (ties: lower index first, as `tf.math.top_k`).
 *
 * Training and test use their own settings (`pre_nms_top_k` / `test_pre_nms_top_k`, ...).
 * Rejected when set: `pre_nms_min_size_threshold` > 0 and `use_batched_nms`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { clipBoxesTensor, decodeBoxesTensor } from '../../ops/box_ops.js';
import { nmsPadded } from '../../ops/nms_padded.js';
import { scoreSigmoid } from '../../ops/score_sigmoid.js';

/** One mode's settings (Model Garden's `ROIGenerator` config, train or `test_` fields). */
export interface ROIProposalSettings {
  preNmsTopK: number;
  preNmsScoreThreshold: number;
  preNmsMinSizeThreshold: number;
  nmsIouThreshold: number;
  numProposals: number;
}

export interface ROIGeneratorOptions {
  train?: Partial<ROIProposalSettings>;
  test?: Partial<ROIProposalSettings>;
  useBatchedNms?: boolean;
}

export interface ROIProposals {
  /** [B, K, 4] proposals in image pixels. */
  rois: tf.Tensor;
  /** [B, K] their scores (0 for padding). */
  scores: tf.Tensor;
}

function settings(
  given: Partial<ROIProposalSettings> | undefined,
  defaults: ROIProposalSettings,
  prefix: string,
): ROIProposalSettings {
  const s = { ...defaults, ...given };
  const field = (name: string) => `task.model.roi_generator.${prefix}${name}`;
  for (const [name, v] of [
    ['pre_nms_top_k', s.preNmsTopK],
    ['num_proposals', s.numProposals],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`${field(name)} must be a positive integer, got ${v}`);
  }
  if (!(s.nmsIouThreshold >= 0 && s.nmsIouThreshold <= 1)) {
    throw new Error(`${field('nms_iou_threshold')} must be in [0, 1], got ${s.nmsIouThreshold}`);
  }
  if (!Number.isFinite(s.preNmsScoreThreshold)) {
    throw new Error(`${field('pre_nms_score_threshold')} must be a number`);
  }
  if (s.preNmsMinSizeThreshold !== 0) {
    throw new Error(
      `${field('pre_nms_min_size_threshold')}: filtering proposals by size is not supported yet; leave it 0`,
    );
  }
  return s;
}

/** Rows `idx` [B, k] of `values` [B, M, ...] per image: [B, k, ...] (one flat gather). */
export function gatherPerImage(values: tf.Tensor, idx: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [b, m] = values.shape as number[];
    const k = idx.shape[1] as number;
    const offsets = tf.reshape(tf.mul(tf.range(0, b, 1, 'int32'), tf.scalar(m, 'int32')), [b, 1]);
    const rows = tf.reshape(tf.add(tf.cast(idx, 'int32'), offsets), [-1]);
    const flat = tf.reshape(values, [b * m, ...values.shape.slice(2)]);
    return tf.reshape(tf.gather(flat, rows), [b, k, ...values.shape.slice(2)]);
  });
}

/** The `k` highest scores [B, M] and their boxes [B, M, 4]. */
function topKBoxes(boxes: tf.Tensor, scores: tf.Tensor, k: number): ROIProposals {
  return tf.tidy(() => {
    const { values, indices } = tf.topk(scores, k, true);
    return { rois: gatherPerImage(boxes, indices), scores: values };
  });
}

export class MultilevelROIGenerator {
  readonly train: ROIProposalSettings;
  readonly test: ROIProposalSettings;

  constructor(opts: ROIGeneratorOptions = {}) {
    if (opts.useBatchedNms) {
      throw new Error(
        'task.model.roi_generator.use_batched_nms: combined NMS for proposals is not supported yet; leave it false',
      );
    }
    const base = {
      preNmsScoreThreshold: 0,
      preNmsMinSizeThreshold: 0,
      nmsIouThreshold: 0.7,
      numProposals: 1000,
    };
    this.train = settings(opts.train, { ...base, preNmsTopK: 2000 }, '');
    this.test = settings(opts.test, { ...base, preNmsTopK: 1000 }, 'test_');
  }

  /**
   * Proposals from the RPN outputs: level → scores [B, H, W, A], boxes [B, H, W, 4·A], anchors
   * [H, W, 4·A] (shared) or [B, H, W, 4·A]; `imageShape` [B, 2] clips.
   */
  apply(
    rawBoxes: Record<string, tf.Tensor>,
    rawScores: Record<string, tf.Tensor>,
    anchorBoxes: Record<string, tf.Tensor>,
    imageShape: tf.Tensor,
    training: boolean,
  ): ROIProposals {
    const s = training ? this.train : this.test;
    const levels = Object.keys(rawScores)
      .map(Number)
      .sort((a, b) => a - b);
    if (!levels.length) throw new Error('roi generator: no levels in the RPN outputs');
    return tf.tidy(() => {
      const rois: tf.Tensor[] = [];
      const scores: tf.Tensor[] = [];
      for (const level of levels) {
        const key = String(level);
        const sc = rawScores[key];
        const bx = rawBoxes[key];
        const an = anchorBoxes[key];
        if (!bx || !an) {
          throw new Error(
            `roi generator: level ${key} has scores but no ${!bx ? 'box outputs' : 'anchor boxes'}`,
          );
        }
        const [batch, h, w, a] = sc.shape as number[];
        const n = h * w * a;
        if (bx.size !== batch * n * 4 || (an.size !== n * 4 && an.size !== batch * n * 4)) {
          throw new Error(
            `roi generator: level ${key} scores [${sc.shape}], boxes [${bx.shape}] and anchors [${an.shape}] do not match`,
          );
        }
        // TF's float32 sigmoid, whose saturation at 1 makes the ties MG's top-k orders by index.
        const levelScores = scoreSigmoid(tf.reshape(sc, [batch, n]));
        const anchors = tf.reshape(an, [an.size === n * 4 ? 1 : batch, n, 4]);
        const decoded = clipBoxesTensor(
          decodeBoxesTensor(tf.reshape(bx, [batch, n, 4]), anchors),
          imageShape,
        );
        const postK = Math.min(n, s.numProposals);
        if (s.nmsIouThreshold > 0) {
          // The top-k first (as MG), so that all-zero boxes take their place among the
          // candidates and are dropped as padding by the tiled NMS.
          const preK = Math.min(n, s.preNmsTopK);
          const top = topKBoxes(decoded, levelScores, preK);
          const r = nmsPadded(
            top.rois as tf.Tensor3D,
            tf.expandDims(top.scores, 2) as tf.Tensor3D,
            {
              maxNumDetections: postK,
              preNmsTopK: preK,
              tiled: true,
              iouThreshold: s.nmsIouThreshold,
              // MG filters by score only when the threshold is positive (sigmoid scores are >= 0 > -1).
              scoreThreshold: s.preNmsScoreThreshold > 0 ? s.preNmsScoreThreshold : -1,
            },
          );
          rois.push(r.boxes);
          scores.push(r.scores);
        } else {
          const r = topKBoxes(decoded, levelScores, postK);
          rois.push(r.rois);
          scores.push(r.scores);
        }
      }
      const all = tf.concat(scores, 1);
      return topKBoxes(
        tf.concat(rois, 1),
        all,
        Math.min(all.shape[1] as number, s.numProposals),
      ) as unknown as tf.TensorContainer;
    }) as unknown as ROIProposals;
  }
}
