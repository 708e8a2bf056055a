/**
 * Model Garden's `crop_mask_in_target_box` (official/vision/ops/spatial_transform_ops.py): each
 * mask [S, S] covers its box `boxes` (image pixels); it is re-sampled inside `targetBoxes` at
 * `outputSize` × `outputSize`, one bilinear sample per bin at `sampleOffset`, with MG's
 * `selective_crop_and_resize` rule (neighbours floor(y) clamped to [0, S + 3] and that + 1 clamped
 * likewise, weights y − y0 and 1 − (y − y0)) on the mask zero-padded by 2 on each side.
 * Used for mask targets (no gradient needed); static shapes, so it compiles.
 */
import * as tf from '@tensorflow/tfjs-core';

/** spatial_transform_ops._EPSILON. */
const EPSILON = 1e-8;

/**
 * @param masks [B, K, S, S]
 * @param boxes [B, K, 4] the boxes the masks fill
 * @param targetBoxes [B, K, 4] where to sample
 * @returns [B, K, outputSize, outputSize]
 */
export function cropMaskInTargetBox(
  masks: tf.Tensor,
  boxes: tf.Tensor,
  targetBoxes: tf.Tensor,
  outputSize: number,
  sampleOffset = 0,
): tf.Tensor {
  const [batch, k, height, width] = masks.shape as [number, number, number, number];
  if (masks.rank !== 4 || height !== width) {
    throw new Error(`cropMaskInTargetBox: masks must be [B, K, S, S], got [${masks.shape}]`);
  }
  for (const [name, t] of [
    ['boxes', boxes],
    ['targetBoxes', targetBoxes],
  ] as const) {
    if (t.rank !== 3 || t.shape[0] !== batch || t.shape[1] !== k || t.shape[2] !== 4) {
      throw new Error(`cropMaskInTargetBox: ${name} must be [${batch}, ${k}, 4], got [${t.shape}]`);
    }
  }
  const s = outputSize;
  const padded = height + 4;
  return tf.tidy(() => {
    const table = tf.reshape(
      tf.pad(masks, [
        [0, 0],
        [0, 0],
        [2, 2],
        [2, 2],
      ]),
      [-1],
    );
    const [gy0, gx0, gy1, gx1] = tf.unstack(boxes, 2);
    const [by0, bx0, by1, bx1] = tf.unstack(targetBoxes, 2);
    // The target box in padded-mask pixels.
    const y = tf.add(
      tf.div(tf.mul(tf.sub(by0, gy0), height), tf.add(tf.sub(gy1, gy0), EPSILON)),
      2,
    );
    const x = tf.add(tf.div(tf.mul(tf.sub(bx0, gx0), width), tf.add(tf.sub(gx1, gx0), EPSILON)), 2);
    const h = tf.div(tf.mul(tf.sub(by1, by0), height), tf.add(tf.sub(gy1, gy0), EPSILON));
    const w = tf.div(tf.mul(tf.sub(bx1, bx0), width), tf.add(tf.sub(gx1, gx0), EPSILON));
    const steps = tf.tensor1d(Array.from({ length: s }, (_, i) => i + sampleOffset));
    const bound = padded - 1;
    const neighbours = (start: tf.Tensor, size: tf.Tensor) => {
      const pos = tf.add(
        tf.expandDims(start, -1),
        tf.div(tf.mul(steps, tf.expandDims(size, -1)), s),
      );
      const lo = tf.minimum(tf.maximum(tf.floor(pos), 0), bound);
      const hi = tf.minimum(tf.add(lo, 1), bound);
      const l = tf.sub(pos, lo);
      // [B, K, S, 2]: (lo, hi) and their weights (1 − l, l).
      return {
        idx: tf.cast(tf.stack([lo, hi], -1), 'int32'),
        w: tf.stack([tf.sub(1, l), l], -1),
      };
    };
    const ny = neighbours(y, h);
    const nx = neighbours(x, w);
    const base = tf.reshape(tf.range(0, batch * k * padded * padded, padded * padded, 'int32'), [
      batch,
      k,
      1,
      1,
      1,
      1,
    ]);
    const rows = tf.add(
      tf.add(base, tf.reshape(tf.mul(ny.idx, tf.scalar(padded, 'int32')), [batch, k, s, 2, 1, 1])),
      tf.reshape(nx.idx, [batch, k, 1, 1, s, 2]),
    );
    const values = tf.reshape(tf.gather(table, tf.reshape(rows, [-1])), [batch, k, s, 2, s, 2]);
    const weights = tf.mul(
      tf.reshape(ny.w, [batch, k, s, 2, 1, 1]),
      tf.reshape(nx.w, [batch, k, 1, 1, s, 2]),
    );
    return tf.sum(tf.mul(values, weights), [3, 5]);
  });
}
