/**
 * Gradients tfjs-core 4.22 lacks or gets wrong, registered after its own
 * (src/core/backend/index.ts imports this module):
 *
 *  - GatherNd: d params = ScatterNd(indices, dy, params.shape) (duplicate indices add up);
 *  - ScatterNd: d updates = GatherNd(dy, indices);
 *  - GatherV2 with batchDims > 0: tfjs's handles only batchDims 1 and calls the chained
 *    `x.split`, absent without tfjs's chained-op registrations, so it throws. Here the batch axes
 *    and the gather axis are flattened together, each batch's indices offset by
 *    batch · x.shape[axis], and one UnsortedSegmentSum scatters dy back (as TF's
 *    `_GatherV2Grad`). batchDims 0 keeps tfjs's gradient.
 *  - Cumsum: d x = Cumsum(dy, axis, exclusive, !reverse), as TF's `_CumsumGrad`. tfjs's rule
 *    transposes that result by the permutation that would move `axis` last, which is wrong (a
 *    wrong shape or scrambled values) for every axis but the last: MoViNet's causal pooling sums
 *    over time, axis 1.
 */
import * as tf from '@tensorflow/tfjs-core';

/** dx of GatherV2(x, indices, axis, batchDims > 0) for output gradient dy. */
export function batchGatherGrad(
  dy: tf.Tensor,
  xShape: number[],
  indices: tf.Tensor,
  axis: number,
  batchDims: number,
): tf.Tensor {
  return tf.tidy(() => {
    const batchShape = xShape.slice(0, batchDims);
    const batch = batchShape.reduce((a, b) => a * b, 1);
    const mid = xShape.slice(batchDims, axis);
    const rest = xShape.slice(axis + 1);
    const idxShape = indices.shape.slice(batchDims);
    const nIdx = idxShape.reduce((a, b) => a * b, 1);
    // dy [batch..., mid..., idx..., rest...] → [batch, idx, mid..., rest...] → rows.
    const b = batchDims;
    const perm = [
      ...batchShape.map((_, i) => i),
      ...idxShape.map((_, i) => b + mid.length + i),
      ...mid.map((_, i) => b + i),
      ...rest.map((_, i) => b + mid.length + idxShape.length + i),
    ];
    const rows = tf.reshape(tf.transpose(dy, perm), [batch * nIdx, ...mid, ...rest]);
    const offsets = tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(xShape[axis], 'int32'));
    const ids = tf.reshape(
      tf.add(tf.reshape(indices, [batch, nIdx]), tf.reshape(offsets, [batch, 1])),
      [-1],
    );
    const summed = tf.unsortedSegmentSum(
      rows,
      tf.cast(ids, 'int32') as tf.Tensor1D,
      batch * xShape[axis],
    );
    // [batch·x.shape[axis], mid..., rest...] → x's axis order.
    const split = tf.reshape(summed, [...batchShape, xShape[axis], ...mid, ...rest]);
    const back = [
      ...batchShape.map((_, i) => i),
      ...mid.map((_, i) => b + 1 + i),
      b,
      ...rest.map((_, i) => b + 1 + mid.length + i),
    ];
    return tf.transpose(split, back);
  });
}

const gatherV2 = tf.getGradient('GatherV2');

tf.registerGradient({
  kernelName: 'GatherV2',
  inputsToSave: ['x', 'indices'],
  gradFunc: (dy, saved, attrs) => {
    const [x, indices] = saved;
    const rank = x.rank;
    const axisAttr = Number(attrs.axis);
    const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
    const batchAttr = Number(attrs.batchDims ?? 0);
    const batchDims = batchAttr < 0 ? batchAttr + indices.rank : batchAttr;
    if (batchDims === 0) {
      if (!gatherV2) throw new Error('tfjs-core registered no GatherV2 gradient');
      return gatherV2.gradFunc(dy, saved, attrs);
    }
    return {
      x: () => batchGatherGrad(dy as tf.Tensor, x.shape, indices, axis, batchDims),
      indices: () => tf.zerosLike(indices),
    };
  },
});

if (!tf.getGradient('GatherNd')) {
  tf.registerGradient({
    kernelName: 'GatherNd',
    inputsToSave: ['params', 'indices'],
    gradFunc: (dy, saved) => {
      const [params, indices] = saved;
      return {
        params: () => tf.scatterND(indices, dy as tf.Tensor, params.shape),
        indices: () => tf.zerosLike(indices),
      };
    },
  });
}

if (!tf.getGradient('ScatterNd')) {
  tf.registerGradient({
    kernelName: 'ScatterNd',
    inputsToSave: ['indices'],
    gradFunc: (dy, saved) => {
      const [indices] = saved;
      return {
        indices: () => tf.zerosLike(indices),
        updates: () => tf.gatherND(dy as tf.Tensor, indices),
      };
    },
  });
}

tf.registerGradient({
  kernelName: 'Cumsum',
  gradFunc: (dy, _saved, attrs) => {
    const { axis, exclusive, reverse } = attrs as unknown as {
      axis: number;
      exclusive: boolean;
      reverse: boolean;
    };
    return { x: () => tf.cumsum(dy as tf.Tensor, axis, exclusive, !reverse) };
  },
});
