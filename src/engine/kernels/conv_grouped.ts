/**
 * Lowerings of the grouped 3-D convolution kernels (src/core/backend/custom/conv3d_grouped.ts;
 * depthwise is groups = channels), built on the dense convolution lowerings of ./conv.ts:
 *
 * - forward: ONNX `Conv` with `group`; the tfjs filter [k..., Cin/G, Cout] becomes the grouped
 *   weight [Cout, Cin/G, k...] exactly as a dense filter becomes OI(k...);
 * - input gradient: unit strides → `Conv` with `group` over dy with the flipped weight
 *   [Cin, Cout/G, k...] (the dense flipped [Cin/G, Cout, k...] regrouped); otherwise grouped
 *   `ConvTranspose` with the forward weight;
 * - filter gradient: grouped im2col — the tap windows of x (channels and batch swapped) as
 *   [G, taps·Cin/G, N·outSpatial], one batched `MatMul` with dy [G, N·outSpatial, Cout/G], and the
 *   filter-sized result permuted to [taps, Cin/G, G, Cout/G].
 */
import { attr } from '../graph_builder.js';
import {
  CONV3D_GROUPED,
  CONV3D_GROUPED_BACKPROP_FILTER,
  CONV3D_GROUPED_BACKPROP_INPUT,
} from '../../core/backend/custom/index.js';
import { input, output, type KernelContext, type KernelLowering } from './context.js';
import {
  convForward,
  convGeometry,
  filterOi,
  flippedSwapped,
  inputGradient,
  swapLeading,
  tapSlices,
} from './conv.js';

function groups(ctx: KernelContext): number {
  const g = ctx.attrs.groups;
  if (typeof g !== 'number' || !Number.isInteger(g) || g < 1) {
    throw new Error(`${ctx.kernelName}: attribute 'groups' must be a positive integer`);
  }
  return g;
}

const taps = (filterShape: number[]) => filterShape.slice(0, -2).reduce((a, k) => a * k, 1);

const conv3dGrouped: KernelLowering = (ctx) => {
  const x = input(ctx, 'x');
  const f = input(ctx, 'filter');
  const g = convGeometry(ctx, x.shape, f.shape, false);
  const w = filterOi(ctx, 'filter', f.shape);
  convForward(ctx, ctx.channelsFirst('x'), w, g, groups(ctx), ctx.channelsFirstOutput());
};

const conv3dGroupedBackpropInput: KernelLowering = (ctx) => {
  const { b } = ctx;
  const f = input(ctx, 'filter');
  const inShape = ctx.attrs.inputShape as number[];
  const g = convGeometry(ctx, inShape, f.shape, false);
  const group = groups(ctx);
  const s = f.shape.length - 2;
  const [cinG, cout] = f.shape.slice(s);
  const coutG = cout / group;
  inputGradient(
    ctx,
    g,
    group,
    () => filterOi(ctx, 'filter', f.shape),
    () => {
      // [Cin/G, G·Cout/G, k...] → [G, Cin/G, Cout/G, k...] = [Cin, Cout/G, k...].
      const dense = flippedSwapped(ctx, 'filter', f.shape);
      const target = b.int64s([cinG * group, coutG, ...f.shape.slice(0, s)]);
      if (cinG === 1) return b.op('Reshape', [dense, target]);
      const split = b.op('Reshape', [dense, b.int64s([cinG, group, coutG, taps(f.shape)])]);
      const regrouped = b.op('Transpose', [split], { perm: attr.ints([1, 0, 2, 3]) });
      return b.op('Reshape', [regrouped, target]);
    },
  );
};

const conv3dGroupedBackpropFilter: KernelLowering = (ctx) => {
  const { b } = ctx;
  const x = input(ctx, 'x');
  const filterShape = ctx.attrs.filterShape as number[];
  const g = convGeometry(ctx, x.shape, filterShape, false);
  const group = groups(ctx);
  const rank = x.shape.length;
  const s = rank - 2;
  const [cinG, cout] = filterShape.slice(s);
  const coutG = cout / group;
  const cols = x.shape[0] * g.outSpatial.reduce((a, n) => a * n, 1);
  const windows = tapSlices(ctx, swapLeading(ctx, ctx.channelsFirst('x'), rank), g).map((t) =>
    b.op('Reshape', [t, b.int64s([group, cinG, cols])]),
  );
  const im2col = windows.length === 1 ? windows[0] : b.op('Concat', windows, { axis: attr.int(1) });
  const dyRows = b.op('Reshape', [
    swapLeading(ctx, ctx.channelsFirst('dy'), rank),
    b.int64s([group, coutG, cols]),
  ]);
  const dyCols = b.op('Transpose', [dyRows], { perm: attr.ints([0, 2, 1]) });
  const dw = b.op('MatMul', [im2col, dyCols]); // [G, taps·Cin/G, Cout/G]
  const split = b.op('Reshape', [dw, b.int64s([group, windows.length, cinG, coutG])]);
  const ordered = b.op('Transpose', [split], { perm: attr.ints([1, 2, 0, 3]) });
  b.op('Reshape', [ordered, b.int64s(filterShape)], {}, output(ctx).name);
};

export const CONV_GROUPED_KERNELS: Record<string, KernelLowering> = {
  [CONV3D_GROUPED]: conv3dGrouped,
  [CONV3D_GROUPED_BACKPROP_INPUT]: conv3dGroupedBackpropInput,
  [CONV3D_GROUPED_BACKPROP_FILTER]: conv3dGroupedBackpropFilter,
};
