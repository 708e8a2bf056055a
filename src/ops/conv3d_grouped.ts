/**
 * Grouped and depthwise 3-D convolution (NDHWC), which tfjs lacks. MoViNet's depthwise 3-D
 * convolutions are these: official/projects/movinet/modeling/movinet_layers.py (`ConvBlock` with
 * `depthwise=True`) builds a Keras `Conv3D` with `groups` = input channels, whose kernel
 * [fd, fh, fw, Cin/groups, filters] is this op's filter layout.
 *
 * One op over the `Conv3DGrouped` kernel (src/core/backend/custom/conv3d_grouped.ts) with its
 * gradients (`Conv3DGroupedBackpropInput`, `Conv3DGroupedBackpropFilter`); the engine lowers all
 * three to ONNX (`Conv`/`ConvTranspose` with `group`, a grouped im2col MatMul). groups = 1 is
 * `tf.conv3d`.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  CONV3D_GROUPED,
  CONV3D_GROUPED_BACKPROP_FILTER,
  CONV3D_GROUPED_BACKPROP_INPUT,
  groupedGeometry,
  registerCustomKernels,
  type Conv3DGroupedAttrs,
} from '../core/backend/custom/index.js';

registerCustomKernels();

type Triple = [number, number, number];

/**
 * Grouped 3-D convolution of `x` [N, D, H, W, Cin] with `filter` [fd, fh, fw, Cin/groups, Cout]:
 * output channel o sees input channels of its group ⌊o / (Cout/groups)⌋ only.
 */
export function conv3dGrouped(
  x: tf.Tensor5D,
  filter: tf.Tensor5D,
  strides: number | Triple,
  pad: 'same' | 'valid',
  dilations: number | Triple = 1,
  groups = 1,
): tf.Tensor5D {
  if (groups === 1) return tf.conv3d(x, filter, strides, pad, 'NDHWC', dilations);
  const attrs: Conv3DGroupedAttrs = { strides, pad, dilations, groups };
  groupedGeometry(CONV3D_GROUPED, x.shape, filter.shape, attrs);
  if (x.dtype !== 'float32' || filter.dtype !== 'float32') {
    throw new Error(
      `conv3dGrouped: x and filter must be float32, got ${x.dtype} and ${filter.dtype}`,
    );
  }
  return tf
    .engine()
    .runKernel(
      CONV3D_GROUPED,
      { x, filter } as unknown as tf.NamedTensorMap,
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor5D;
}

/** Depthwise 3-D convolution: `filter` [fd, fh, fw, 1, C·multiplier], groups = C. */
export function depthwiseConv3d(
  x: tf.Tensor5D,
  filter: tf.Tensor5D,
  strides: number | Triple,
  pad: 'same' | 'valid',
  dilations: number | Triple = 1,
): tf.Tensor5D {
  return conv3dGrouped(x, filter, strides, pad, dilations, x.shape[4]);
}

tf.registerGradient({
  kernelName: CONV3D_GROUPED,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved;
    const a = attrs as unknown as Conv3DGroupedAttrs;
    const grad = dy as tf.Tensor;
    const run = (kernel: string, inputs: Record<string, tf.Tensor>, extra: object) =>
      tf
        .engine()
        .runKernel(
          kernel,
          inputs as unknown as tf.NamedTensorMap,
          { ...a, ...extra } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
    return {
      x: () => run(CONV3D_GROUPED_BACKPROP_INPUT, { dy: grad, filter }, { inputShape: x.shape }),
      filter: () =>
        run(CONV3D_GROUPED_BACKPROP_FILTER, { x, dy: grad }, { filterShape: filter.shape }),
    };
  },
});
