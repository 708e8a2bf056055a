/**
 * Mask R-CNN losses as Model Garden computes them (official/vision/losses/maskrcnn_losses.py,
 * tasks/maskrcnn.py `build_losses`). Keras BinaryCrossentropy / Huber with SUM reduction and a
 * sample weight are sums of weighted elementwise terms here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { huber } from './huber.js';

/** Elementwise sigmoid cross-entropy from logits: max(x, 0) − x·z + log(1 + exp(−|x|)). */
function sigmoidBce(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.add(
    tf.sub(tf.relu(logits), tf.mul(logits, targets)),
    tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
  );
}

/** Elementwise Huber (the Keras loss over a last axis of size 1). */
function huberElementwise(targets: tf.Tensor, outputs: tf.Tensor, delta: number): tf.Tensor {
  return huber(tf.expandDims(targets, -1), tf.expandDims(outputs, -1), delta);
}

/**
 * One-hot [..., depth] float32 of int labels by comparison (tf.oneHot's float32 output comes back
 * as int32 bits from the wasm backend's OneHot kernel: a class loss of 1.4e-45).
 */
function oneHotFloat(labels: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(
    tf.equal(tf.expandDims(tf.cast(labels, 'int32'), -1), tf.range(0, depth, 1, 'int32')),
    'float32',
  );
}

function sortedLevels(x: Record<string, tf.Tensor>): string[] {
  return Object.keys(x).sort((a, b) => Number(a) - Number(b));
}

function checkLevels(
  what: string,
  outputs: Record<string, tf.Tensor>,
  targets: Record<string, tf.Tensor>,
): string[] {
  const levels = sortedLevels(outputs);
  for (const l of levels) {
    const t = targets[l];
    if (!t || !tf.util.arraysEqual(t.shape, outputs[l].shape)) {
      throw new Error(
        `${what}: targets of level ${l} must be [${outputs[l].shape}], got ${t ? `[${t.shape}]` : 'none'}`,
      );
    }
  }
  return levels;
}

/**
 * RpnScoreLoss: per level, sigmoid BCE summed over anchors whose target is 0 or 1 (−1: ignored),
 * divided by batch · `normalizerPerImage` (MG's task passes the number of sampled RoIs,
 * box_outputs.shape[1]); summed over levels. Scores and targets [B, H, W, A] per level.
 */
export function rpnScoreLoss(
  scores: Record<string, tf.Tensor>,
  targets: Record<string, tf.Tensor>,
  normalizerPerImage: number,
): tf.Scalar {
  const levels = checkLevels('rpn score loss', scores, targets);
  return tf.tidy(() => {
    const losses = levels.map((l) => {
      const t = tf.cast(targets[l], 'float32');
      const valid = tf.cast(tf.logicalOr(tf.equal(t, 1), tf.equal(t, 0)), 'float32');
      const sum = tf.sum(tf.mul(sigmoidBce(scores[l], tf.maximum(t, 0)), valid));
      return tf.div(sum, (scores[l].shape[0] as number) * normalizerPerImage);
    });
    return tf.addN(losses) as tf.Scalar;
  });
}

/**
 * RpnBoxLoss: per level, Huber(`delta`) summed over anchors whose target is not all zero
 * (|t| > 1e-6 somewhere), divided by (4 · their number + 0.01); summed over levels.
 * Boxes and targets [B, H, W, A·4] per level.
 */
export function rpnBoxLoss(
  boxes: Record<string, tf.Tensor>,
  targets: Record<string, tf.Tensor>,
  delta: number,
): tf.Scalar {
  const levels = checkLevels('rpn box loss', boxes, targets);
  return tf.tidy(() => {
    const losses = levels.map((l) => {
      const [b, h, w, a4] = targets[l].shape as [number, number, number, number];
      const t = tf.cast(targets[l], 'float32');
      const anyNonZero = tf.any(tf.greater(tf.abs(tf.reshape(t, [b, h, w, a4 / 4, 4])), 1e-6), -1);
      const valid = tf.reshape(
        tf.tile(tf.expandDims(tf.cast(anyNonZero, 'float32'), -1), [1, 1, 1, 1, 4]),
        [b, h, w, a4],
      );
      const sum = tf.sum(tf.mul(huberElementwise(t, boxes[l], delta), valid));
      return tf.div(sum, tf.add(tf.sum(valid), 0.01));
    });
    return tf.addN(losses) as tf.Scalar;
  });
}

/**
 * FastrcnnClassLoss: softmax (or, with `useBinaryCrossEntropy`, sigmoid) cross-entropy of
 * `classOutputs` [B, N, C] against one-hot `classTargets` [B, N], averaged over every element;
 * with `topKPercent` < 1 only the largest ⌊topKPercent · size⌋ terms, / (that count + 1e-5).
 */
export function fastrcnnClassLoss(
  classOutputs: tf.Tensor,
  classTargets: tf.Tensor,
  useBinaryCrossEntropy = false,
  topKPercent = 1,
): tf.Scalar {
  if (!(topKPercent > 0 && topKPercent <= 1)) {
    throw new Error(`losses.frcnn_class_loss_top_k_percent must be in (0, 1], got ${topKPercent}`);
  }
  return tf.tidy(() => {
    const c = classOutputs.shape[2] as number;
    const oneHot = oneHotFloat(classTargets, c);
    const ce = useBinaryCrossEntropy
      ? sigmoidBce(classOutputs, oneHot)
      : tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(classOutputs)), -1));
    if (topKPercent >= 1) return tf.mean(ce) as tf.Scalar;
    const flat = tf.reshape(ce, [-1]);
    const k = Math.floor(topKPercent * flat.size);
    return tf.div(tf.sum(tf.topk(flat, k).values), k + 1e-5) as tf.Scalar;
  });
}

/**
 * FastrcnnBoxLoss: Huber(`delta`) between `boxTargets` [B, N, 4] and the box outputs of each RoI's
 * target class (`boxOutputs` [B, N, C·4]; [B, N, 4] as they are when class-agnostic), over RoIs of
 * class > 0, / (4 · their number + 0.01).
 */
export function fastrcnnBoxLoss(
  boxOutputs: tf.Tensor,
  classTargets: tf.Tensor,
  boxTargets: tf.Tensor,
  delta: number,
  classAgnostic: boolean,
): tf.Scalar {
  return tf.tidy(() => {
    const [b, n, c4] = boxOutputs.shape as [number, number, number];
    const cls = tf.cast(classTargets, 'int32');
    let boxes = boxOutputs;
    if (!classAgnostic) {
      const oneHot = oneHotFloat(cls, c4 / 4);
      boxes = tf.sum(
        tf.mul(tf.reshape(boxOutputs, [b, n, c4 / 4, 4]), tf.expandDims(oneHot, -1)),
        2,
      );
    }
    const mask = tf.tile(tf.expandDims(tf.cast(tf.greater(cls, 0), 'float32'), -1), [1, 1, 4]);
    const sum = tf.sum(tf.mul(huberElementwise(boxTargets, boxes, delta), mask));
    return tf.div(sum, tf.add(tf.sum(mask), 0.01)) as tf.Scalar;
  });
}

/**
 * MaskrcnnLoss: sigmoid BCE of `maskOutputs` [B, K, S, S] (logits) against `maskTargets`
 * (in [0, 1]) over masks of class > 0, / (their number · S² + 0.01).
 */
export function maskrcnnLoss(
  maskOutputs: tf.Tensor,
  maskTargets: tf.Tensor,
  classTargets: tf.Tensor,
): tf.Scalar {
  if (!tf.util.arraysEqual(maskOutputs.shape, maskTargets.shape)) {
    throw new Error(
      `mask loss: outputs [${maskOutputs.shape}] and targets [${maskTargets.shape}] differ`,
    );
  }
  return tf.tidy(() => {
    const [, , h, w] = maskOutputs.shape as number[];
    const weights = tf.tile(
      tf.reshape(tf.cast(tf.greater(classTargets, 0), 'float32'), [...classTargets.shape, 1, 1]),
      [1, 1, h, w],
    );
    const sum = tf.sum(tf.mul(sigmoidBce(maskOutputs, maskTargets), weights));
    return tf.div(sum, tf.add(tf.sum(weights), 0.01)) as tf.Scalar;
  });
}
