/**
 * SpaceToBatchND and BatchToSpaceND (TF semantics, which tfjs follows): the pair that turns a
 * dilated ("atrous") convolution into an undilated one on a block-interleaved batch
 * (src/modeling/layers/conv.ts, as TF's `tf.nn.convolution` / `with_space_to_batch`). Each is
 * the other's gradient, so one pair of lowerings covers both directions.
 *
 * x is [batch, s_1..s_M, rest...]. SpaceToBatchND pads the M spatial axes, splits each into
 * (s_i / b_i, b_i), moves the block axes to the front and merges them into the batch:
 * Pad → Reshape → Transpose → Reshape. BatchToSpaceND is the inverse followed by a crop (Slice).
 *
 * When x is [batch, spatial..., channels] (the convolution case) the lowering works on the
 * channels-first form and writes channels-first, so a dilated convolution costs no layout change
 * (the Transpose moves whole spatial blocks either way).
 */
import { attr } from '../graph_builder.js';
import { hasChannelsFirstForm } from '../layout.js';
import {
  input,
  output,
  toChannelsFirst,
  UnsupportedKernelError,
  type KernelContext,
  type KernelLowering,
} from './context.js';

interface Geometry {
  /** The input's name and shape in the working layout. */
  x: string;
  shape: number[];
  /** Axes before the spatial ones: batch (tfjs layout) or batch and channels (channels-first). */
  lead: number;
  /** Where the single output is written, and its shape in the working layout. */
  out: string;
  outShape: number[];
}

function blockAndPairs(
  ctx: KernelContext,
  pairsAttr: string,
): { block: number[]; pairs: number[][] } {
  const block = ctx.attrs.blockShape as number[];
  const pairs = ctx.attrs[pairsAttr] as number[][];
  if (
    !Array.isArray(block) ||
    !Array.isArray(pairs) ||
    pairs.length !== block.length ||
    !pairs.every((p) => Array.isArray(p) && p.length === 2)
  ) {
    throw new Error(`${ctx.kernelName}: blockShape and ${pairsAttr} must be M numbers and M pairs`);
  }
  return { block, pairs };
}

/** Channels-first working layout when x is [batch, spatial..., channels], else the tfjs one. */
function geometry(ctx: KernelContext, spatial: number): Geometry {
  const xi = input(ctx, 'x');
  const out = output(ctx);
  const rank = xi.shape.length;
  if (rank < spatial + 1) {
    throw new UnsupportedKernelError(ctx.kernelName, `rank ${rank} below 1 + ${spatial}`);
  }
  if (rank === spatial + 2 && hasChannelsFirstForm(rank)) {
    const perm = toChannelsFirst(rank);
    return {
      x: ctx.channelsFirst('x'),
      shape: perm.map((p) => xi.shape[p]),
      lead: 2,
      out: ctx.channelsFirstOutput(),
      outShape: perm.map((p) => out.shape[p]),
    };
  }
  return { x: xi.name, shape: xi.shape, lead: 1, out: out.name, outShape: out.shape };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

const spaceToBatchND: KernelLowering = (ctx) => {
  const { block, pairs } = blockAndPairs(ctx, 'paddings');
  const m = block.length;
  const g = geometry(ctx, m);
  const { b } = ctx;
  const rank = g.shape.length;
  const before = new Array<number>(rank).fill(0);
  const after = new Array<number>(rank).fill(0);
  pairs.forEach(([lo, hi], i) => {
    before[g.lead + i] = lo;
    after[g.lead + i] = hi;
  });
  const padded = pairs.some(([lo, hi]) => lo !== 0 || hi !== 0)
    ? b.op('Pad', [g.x, b.int64s([...before, ...after]), b.scalar(0, input(ctx, 'x').dtype)], {
        mode: attr.string('constant'),
      })
    : g.x;
  // [lead..., s_1/b_1, b_1, ..., s_M/b_M, b_M, rest...]
  const split = [
    ...g.shape.slice(0, g.lead),
    ...block.flatMap((bl, i) => [
      (g.shape[g.lead + i] + before[g.lead + i] + after[g.lead + i]) / bl,
      bl,
    ]),
    ...g.shape.slice(g.lead + m),
  ];
  const blockAxes = block.map((_, i) => g.lead + 2 * i + 1);
  const outerAxes = block.map((_, i) => g.lead + 2 * i);
  const perm = [
    ...blockAxes,
    ...range(0, g.lead),
    ...outerAxes,
    ...range(g.lead + 2 * m, split.length),
  ];
  const moved = b.op('Transpose', [b.op('Reshape', [padded, b.int64s(split)])], {
    perm: attr.ints(perm),
  });
  b.op('Reshape', [moved, b.int64s(g.outShape)], {}, g.out);
};

const batchToSpaceND: KernelLowering = (ctx) => {
  const { block, pairs } = blockAndPairs(ctx, 'crops');
  const m = block.length;
  const g = geometry(ctx, m);
  const { b } = ctx;
  const batch = g.shape[0] / block.reduce((p, q) => p * q, 1);
  // [b_1..b_M, batch, lead..., s_1..s_M, rest...]
  const split = [...block, batch, ...g.shape.slice(1)];
  const lead = range(m, m + g.lead);
  const interleaved = block.flatMap((_, i) => [m + g.lead + i, i]);
  const perm = [...lead, ...interleaved, ...range(m + g.lead + m, split.length)];
  const moved = b.op('Transpose', [b.op('Reshape', [g.x, b.int64s(split)])], {
    perm: attr.ints(perm),
  });
  const full = [
    batch,
    ...g.shape.slice(1, g.lead),
    ...block.map((bl, i) => bl * g.shape[g.lead + i]),
    ...g.shape.slice(g.lead + m),
  ];
  const merged = b.op('Reshape', [moved, b.int64s(full)]);
  if (pairs.every(([lo, hi]) => lo === 0 && hi === 0)) {
    b.op('Identity', [merged], {}, g.out);
    return;
  }
  const axes = block.map((_, i) => g.lead + i);
  const starts = pairs.map(([lo]) => lo);
  const ends = pairs.map(([, hi], i) => full[g.lead + i] - hi);
  b.op('Slice', [merged, b.int64s(starts), b.int64s(ends), b.int64s(axes)], {}, g.out);
};

export const SPACE_BATCH_KERNELS: Record<string, KernelLowering> = {
  SpaceToBatchND: spaceToBatchND,
  BatchToSpaceND: batchToSpaceND,
};
