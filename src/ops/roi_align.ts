/**
 * RoIAlign on a feature pyramid, computed as Model Garden's gather-based
 * `multilevel_crop_and_resize` (official/vision/ops/spatial_transform_ops.py; RoIAlign: He et al.
 * 2017, https://arxiv.org/abs/1703.06870, figure 3):
 *
 *  1. each box [ymin, xmin, ymax, xmax] (image pixels) goes to level
 *     floor(log2(sqrt(h·w) / 224)) + 4, clamped to the pyramid's levels (a zero-area box to the
 *     lowest), and is scaled by 1 / 2^level;
 *  2. one bilinear sample per output bin at offset `sampleOffset` (0.5: the bin centre):
 *     y_i = ymin + (i + offset)·h / outputSize, likewise x; the four neighbours are floor(y)
 *     clamped to [0, boundary] and that + 1 clamped to the boundary (the level's height / width
 *     − 1, from the lowest level's size), with weights ly = y − y0, hy = 1 − ly (so samples past
 *     the boundary extrapolate, as in Model Garden);
 *  3. all levels are flattened into one [batch·Σ h_l·w_l, C] table and the 2·S × 2·S neighbour
 *     rows of every box are gathered at once (one GatherV2: its gradient w.r.t. the features is a
 *     scatter-add), weighted by 4·(ky ⊗ kx) and 2×2 average-pooled to [S, S].
 *
 * Everything is static-shaped, so the function traces and compiles to one ONNX graph.
 */
import * as tf from '@tensorflow/tfjs-core';

/** FPN's level assignment (Lin et al. 2017, eq. 1), as Model Garden: a 224² box goes to level 4. */
const CANONICAL_SIZE = 224;
const CANONICAL_LEVEL = 4;

/**
 * Crops and resizes every box from its pyramid level.
 * @param features level ('2', '3', …, consecutive) → [batch, h_l, w_l, C] (each level half the
 *   previous one's size, as FPN's)
 * @param boxes [batch, numBoxes, 4] as [ymin, xmin, ymax, xmax] in image pixels
 * @returns [batch, numBoxes, outputSize, outputSize, C]
 */
export function multilevelCropAndResize(
  features: Record<string, tf.Tensor>,
  boxes: tf.Tensor,
  outputSize = 7,
  sampleOffset = 0.5,
): tf.Tensor {
  const keys = Object.keys(features);
  const levels = keys.map(Number);
  if (keys.length === 0 || levels.some((l) => !Number.isInteger(l))) {
    throw new Error(`multilevelCropAndResize: feature keys must be integer levels, got [${keys}]`);
  }
  const minLevel = Math.min(...levels);
  const maxLevel = Math.max(...levels);
  const ordered: tf.Tensor[] = [];
  for (let l = minLevel; l <= maxLevel; l++) {
    const f = features[String(l)];
    if (!f)
      throw new Error(
        `multilevelCropAndResize: features lack level ${l} (levels ${minLevel}..${maxLevel} must all be given)`,
      );
    ordered.push(f);
  }
  const [batch, maxH, maxW, channels] = ordered[0].shape as [number, number, number, number];
  ordered.forEach((f, i) => {
    if (f.rank !== 4 || f.shape[0] !== batch || f.shape[3] !== channels) {
      throw new Error(
        `multilevelCropAndResize: level ${minLevel + i} features [${f.shape}] do not match ` +
          `[${batch}, h, w, ${channels}]`,
      );
    }
  });
  if (boxes.rank !== 3 || boxes.shape[0] !== batch || boxes.shape[2] !== 4) {
    throw new Error(
      `multilevelCropAndResize: boxes must be [${batch}, numBoxes, 4], got [${boxes.shape}]`,
    );
  }
  if (!Number.isInteger(outputSize) || outputSize < 1) {
    throw new Error(
      `multilevelCropAndResize: outputSize must be a positive integer, got ${outputSize}`,
    );
  }
  const numBoxes = boxes.shape[1] as number;
  const s = outputSize;

  return tf.tidy(() => {
    // Level offsets in the flattened [batch · Σ h_l·w_l, C] table.
    const sizes = ordered.map((f) => (f.shape[1] as number) * (f.shape[2] as number));
    const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const batchSize = sizes.reduce((a, b) => a + b, 0);
    const widths = ordered.map((f) => f.shape[2] as number);
    const table = tf.reshape(
      tf.concat(
        ordered.map((f) => tf.reshape(f, [batch, -1, channels])),
        1,
      ),
      [-1, channels],
    );

    // 1. Level of each box, and the box in that level's coordinates.
    const [ymin, xmin, ymax, xmax] = tf.unstack(boxes, 2);
    const boxW = tf.sub(xmax, xmin);
    const boxH = tf.sub(ymax, ymin);
    const areaSqrt = tf.sqrt(tf.mul(boxH, boxW));
    const rawLevel = tf.add(
      tf.floor(tf.div(tf.log(tf.divNoNan(areaSqrt, CANONICAL_SIZE)), Math.log(2))),
      CANONICAL_LEVEL,
    );
    const levelF = tf.clipByValue(rawLevel, minLevel, maxLevel);
    // 0-based index of the box's level in the pyramid.
    const level = tf.cast(tf.sub(levelF, minLevel), 'int32');
    const scale = tf.pow(tf.scalar(2), levelF);
    const y0Box = tf.div(ymin, scale);
    const x0Box = tf.div(xmin, scale);
    const hBox = tf.div(boxH, scale);
    const wBox = tf.div(boxW, scale);
    const stride = tf.pow(tf.scalar(2), tf.sub(levelF, minLevel));
    const boundY = tf.expandDims(tf.sub(tf.div(maxH, stride), 1), -1);
    const boundX = tf.expandDims(tf.sub(tf.div(maxW, stride), 1), -1);

    // 2. Sample positions [batch, boxes, S] and their two neighbours.
    const steps = tf.tensor1d(Array.from({ length: s }, (_, i) => i + sampleOffset));
    const grid = (start: tf.Tensor, size: tf.Tensor) =>
      tf.add(tf.expandDims(start, -1), tf.div(tf.mul(steps, tf.expandDims(size, -1)), s));
    const neighbours = (pos: tf.Tensor, bound: tf.Tensor) => {
      const lo = tf.minimum(tf.maximum(tf.floor(pos), 0), bound);
      const hi = tf.minimum(tf.add(lo, 1), bound);
      const l = tf.sub(pos, lo);
      // [batch, boxes, 2S]: (lo, hi) per sample; weights (1 − l, l) likewise.
      const idx = tf.reshape(tf.stack([lo, hi], -1), [batch, numBoxes, 2 * s]);
      const w = tf.reshape(tf.stack([tf.sub(1, l), l], -1), [batch, numBoxes, 2 * s]);
      return { idx: tf.cast(idx, 'int32'), w };
    };
    const ny = neighbours(grid(y0Box, hBox), boundY);
    const nx = neighbours(grid(x0Box, wBox), boundX);

    // 3. Row of every neighbour in the table, one gather, weights, 2×2 average pooling.
    const batchOffset = tf.reshape(
      tf.tensor1d(
        Array.from({ length: batch }, (_, b) => b * batchSize),
        'int32',
      ),
      [batch, 1, 1, 1],
    );
    const levelOffset = tf.reshape(tf.gather(tf.tensor1d(offsets, 'int32'), level), [
      batch,
      numBoxes,
      1,
      1,
    ]);
    const rowWidth = tf.expandDims(tf.gather(tf.tensor1d(widths, 'int32'), level), -1);
    const yOffset = tf.reshape(tf.mul(ny.idx, rowWidth), [batch, numBoxes, 2 * s, 1]);
    const xOffset = tf.reshape(nx.idx, [batch, numBoxes, 1, 2 * s]);
    const rows = tf.reshape(
      tf.add(tf.add(batchOffset, levelOffset), tf.add(yOffset, xOffset)),
      [-1],
    );
    const gathered = tf.reshape(tf.gather(table, rows), [batch * numBoxes, 2 * s, 2 * s, channels]);
    const kernel = tf.mul(
      tf.mul(
        tf.reshape(ny.w, [batch * numBoxes, 2 * s, 1, 1]),
        tf.reshape(nx.w, [batch * numBoxes, 1, 2 * s, 1]),
      ),
      4,
    );
    const pooled = tf.avgPool(tf.mul(gathered, kernel) as tf.Tensor4D, 2, 2, 'valid');
    return tf.reshape(pooled, [batch, numBoxes, s, s, channels]);
  });
}
