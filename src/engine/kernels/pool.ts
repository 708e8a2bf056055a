/**
 * Pooling (2-D and 3-D max / average) and their gradients, channels last around ONNX's
 * channels-first MaxPool / AveragePool.
 *
 *  - MaxPoolGrad: MaxPool's Indices output (positions in the flattened NC(D)HW input, first
 *    maximum on ties as tfjs) and a ScatterElements(add) of dy into zeros.
 *  - AvgPoolGrad: a grouped ConvTranspose of dy with a constant filter of 1/(window size). tfjs's
 *    cpu kernel divides by the full window even where 'same' padding cut it (its forward pass
 *    divides by the valid count); the compiled step reproduces tfjs exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { attr, type AttrValue } from '../graph_builder.js';
import {
  input,
  toChannelsFirst,
  UnsupportedKernelError,
  type KernelContext,
  type KernelLowering,
} from './context.js';

interface PoolGeometry {
  spatial: number;
  kernel: number[];
  strides: number[];
  padBefore: number[];
  padAfter: number[];
  outSpatial: number[];
}

function poolGeometry(ctx: KernelContext, inShape: number[]): PoolGeometry {
  const spatial = inShape.length - 2;
  const pad = ctx.attrs.pad as 'same' | 'valid' | number;
  if (typeof pad === 'object' && pad !== null) {
    throw new UnsupportedKernelError(ctx.kernelName, 'explicit padding');
  }
  const rounding = ctx.attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined;
  const filterSize = ctx.attrs.filterSize as number | number[];
  const strides = ctx.attrs.strides as number | number[];
  if (spatial === 2) {
    const i = tf.backend_util.computePool2DInfo(
      inShape as [number, number, number, number],
      filterSize as [number, number],
      strides as [number, number],
      1,
      pad,
      rounding,
    );
    return {
      spatial,
      kernel: [i.filterHeight, i.filterWidth],
      strides: [i.strideHeight, i.strideWidth],
      padBefore: [i.padInfo.top, i.padInfo.left],
      padAfter: [i.padInfo.bottom, i.padInfo.right],
      outSpatial: [i.outHeight, i.outWidth],
    };
  }
  if (spatial === 3) {
    const i = tf.backend_util.computePool3DInfo(
      inShape as [number, number, number, number, number],
      filterSize as [number, number, number],
      strides as [number, number, number],
      1,
      pad as 'same' | 'valid' | number,
      rounding,
    );
    return {
      spatial,
      kernel: [i.filterDepth, i.filterHeight, i.filterWidth],
      strides: [i.strideDepth, i.strideHeight, i.strideWidth],
      padBefore: [i.padInfo.front, i.padInfo.top, i.padInfo.left],
      padAfter: [i.padInfo.back, i.padInfo.bottom, i.padInfo.right],
      outSpatial: [i.outDepth, i.outHeight, i.outWidth],
    };
  }
  throw new UnsupportedKernelError(ctx.kernelName, `${spatial} spatial dims`);
}

function poolAttrs(g: PoolGeometry) {
  return {
    kernel_shape: attr.ints(g.kernel),
    strides: attr.ints(g.strides),
    pads: attr.ints([...g.padBefore, ...g.padAfter]),
  };
}

const pool =
  (opType: 'MaxPool' | 'AveragePool'): KernelLowering =>
  (ctx) => {
    const { b } = ctx;
    const g = poolGeometry(ctx, input(ctx, 'x').shape);
    const attrs: Record<string, AttrValue> = poolAttrs(g);
    if (opType === 'AveragePool') attrs.count_include_pad = attr.int(0);
    b.op(opType, [ctx.channelsFirst('x')], attrs, ctx.channelsFirstOutput());
  };

const maxPoolGrad: KernelLowering = (ctx) => {
  const { b } = ctx;
  const x = input(ctx, 'input');
  const rank = x.shape.length;
  const g = poolGeometry(ctx, x.shape);
  const [, indices] = b.node('MaxPool', [ctx.channelsFirst('input')], poolAttrs(g), 2);
  const dyCf = ctx.channelsFirst('dy');
  const size = tf.util.sizeFromShape(x.shape);
  const flat = b.int64s([-1]);
  const zeros = b.op('Expand', [b.scalar(0, 'float32'), b.int64s([size])]);
  const scattered = b.op(
    'ScatterElements',
    [zeros, b.op('Reshape', [indices, flat]), b.op('Reshape', [dyCf, flat])],
    { axis: attr.int(0), reduction: attr.string('add') },
  );
  const cfShape = toChannelsFirst(rank).map((a) => x.shape[a]);
  b.op('Reshape', [scattered, b.int64s(cfShape)], {}, ctx.channelsFirstOutput());
};

const avgPoolGrad: KernelLowering = (ctx) => {
  const { b } = ctx;
  const x = input(ctx, 'input');
  const rank = x.shape.length;
  const g = poolGeometry(ctx, x.shape);
  const c = x.shape[rank - 1];
  const window = g.kernel.reduce((a, k) => a * k, 1);
  const weight = b.constant(
    new Float32Array(c * window).fill(1 / window),
    [c, 1, ...g.kernel],
    'float32',
  );
  const inSpatial = x.shape.slice(1, rank - 1);
  const outputPadding = inSpatial.map(
    (n, i) =>
      n - ((g.outSpatial[i] - 1) * g.strides[i] + g.kernel[i] - g.padBefore[i] - g.padAfter[i]),
  );
  if (outputPadding.some((p) => p < 0)) {
    throw new UnsupportedKernelError(ctx.kernelName, 'negative output padding');
  }
  const attrs = { ...poolAttrs(g), group: attr.int(c), output_padding: attr.ints(outputPadding) };
  b.op('ConvTranspose', [ctx.channelsFirst('dy'), weight], attrs, ctx.channelsFirstOutput());
};

export const POOL_KERNELS: Record<string, KernelLowering> = {
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  MaxPool3D: pool('MaxPool'),
  AvgPool3D: pool('AveragePool'),
  MaxPoolGrad: maxPoolGrad,
  MaxPool3DGrad: maxPoolGrad,
  AvgPoolGrad: avgPoolGrad,
  AvgPool3DGrad: avgPoolGrad,
};
