/**
 * Lowering of `NmsPadded` (src/core/backend/custom/nms_padded.ts: batched, padded, multi-class
 * NMS) to ONNX with static output shapes that depend only on the attributes and input shapes:
 *
 *  1. candidate sets [B, S, N]: scores transposed (S = C classes), or each anchor's best class
 *     (ReduceMax / ArgMax, first maximum) for the class-agnostic form (S = 1);
 *  2. `TopK` (P = min(N, preNmsTopK), sorted; ONNX specifies lower index first on ties, as
 *     `tf.math.top_k`) and the candidates' boxes gathered (`GatherND` with batch dims);
 *  3. ONNX `NonMaxSuppression` with each (image, set) as one NMS batch. Its order among equal
 *     scores is not specified, so it is given rank scores P − rank for candidates above the
 *     score threshold and 0 otherwise (threshold 0.5): strictly decreasing, it selects exactly
 *     the greedy sequence of the eager kernel;
 *  4. the dynamic `[M, 3]` selection becomes a static [B, S·P] mask (`ScatterND` into zeros);
 *     masked scores (−∞ elsewhere) go through one more `TopK` of K over the flattened sets, whose
 *     lower-index-first ties give the eager merge order (set, then rank);
 *  5. slots with −∞ are padding: zero boxes, scores and classes, and the valid count is the
 *     number of finite slots.
 */
import { attr } from '../graph_builder.js';
import { OnnxDataType } from '../onnx_proto.js';
import { NMS_PADDED, nmsPaddedAttrs, nmsPaddedShapes } from '../../core/backend/custom/index.js';
import { input, type KernelLowering } from './context.js';

const nmsPadded: KernelLowering = (ctx) => {
  const { b } = ctx;
  const boxes = input(ctx, 'boxes');
  const scores = input(ctx, 'scores');
  const a = nmsPaddedAttrs(ctx.attrs);
  const [batch, n, cb, c] = nmsPaddedShapes(boxes.shape, scores.shape, a);
  const k = a.maxOutputSize;
  const p = Math.min(n, a.preNmsTopK);
  const sets = a.classAgnostic ? 1 : c;
  const width = sets * p;
  const f32 = (v: number) => b.scalar(v, 'float32');
  const reshape = (x: string, shape: number[]) => b.op('Reshape', [x, b.int64s(shape)]);

  // 1. Candidate scores per set, [B, S, N]; for the class-agnostic form also each anchor's
  // class [B, N] and box [B, N, 4].
  let setScores: string;
  let anchorClass: string | null = null;
  let anchorBoxes: string | null = cb === 1 ? reshape(boxes.name, [batch, n, 4]) : null;
  if (a.classAgnostic) {
    const best = b.op('ReduceMax', [scores.name], {
      axes: attr.ints([2]),
      keepdims: attr.int(0),
    });
    setScores = reshape(best, [batch, 1, n]);
    anchorClass = b.op('ArgMax', [scores.name], { axis: attr.int(2), keepdims: attr.int(0) });
    if (cb > 1) {
      const byClass = b.op('Unsqueeze', [anchorClass, b.int64s([2])]);
      anchorBoxes = b.op('GatherND', [boxes.name, byClass], { batch_dims: attr.int(2) });
    }
  } else {
    setScores = b.op('Transpose', [scores.name], { perm: attr.ints([0, 2, 1]) });
  }

  // 2. The top P of every set and their boxes, [B, S·P, 4].
  const [vals, idx] = b.node(
    'TopK',
    [setScores, b.int64s([p])],
    {
      axis: attr.int(2),
      largest: attr.int(1),
      sorted: attr.int(1),
    },
    2,
  );
  let sortedBoxes: string;
  if (anchorBoxes) {
    const rows = reshape(idx, [batch, width, 1]);
    sortedBoxes = b.op('GatherND', [anchorBoxes, rows], { batch_dims: attr.int(1) });
  } else {
    const perClass = b.op('Transpose', [boxes.name], { perm: attr.ints([0, 2, 1, 3]) });
    const rows = b.op('Unsqueeze', [idx, b.int64s([3])]);
    const gathered = b.op('GatherND', [perClass, rows], { batch_dims: attr.int(2) });
    sortedBoxes = reshape(gathered, [batch, width, 4]);
  }

  // 3. NMS on rank scores.
  const rankScores = b.constant(
    Float32Array.from({ length: p }, (_, r) => p - r),
    [p],
    'float32',
  );
  const candidate = b.op('Greater', [vals, f32(a.scoreThreshold)]);
  const proxy = b.op('Where', [candidate, rankScores, f32(0)]);
  const selected = b.op('NonMaxSuppression', [
    reshape(sortedBoxes, [batch * sets, p, 4]),
    reshape(proxy, [batch * sets, 1, p]),
    b.scalar(k, 'int64'),
    f32(a.iouThreshold),
    f32(0.5),
  ]);

  // 4. Selection mask and the merge.
  const zeros = b.op('ConstantOfShape', [b.int64s([batch * sets, 1, p])]);
  const count = b.op('Slice', [b.op('Shape', [selected]), b.int64s([0]), b.int64s([1])]);
  const ones = b.op('Add', [b.op('ConstantOfShape', [count]), f32(1)]);
  const mask = b.op('ScatterND', [zeros, selected, ones]);
  const kept = b.op('Greater', [reshape(mask, [batch, width]), f32(0.5)]);
  let merged = b.op('Where', [kept, reshape(vals, [batch, width]), f32(-Infinity)]);
  if (width < k) {
    merged = b.op('Pad', [merged, b.int64s([0, 0, 0, k - width]), f32(-Infinity)], {
      mode: attr.string('constant'),
    });
  }
  const [top, topIdx] = b.node(
    'TopK',
    [merged, b.int64s([k])],
    {
      axis: attr.int(1),
      largest: attr.int(1),
      sorted: attr.int(1),
    },
    2,
  );

  // 5. Outputs, zero past the valid count.
  const [outBoxes, outScores, outClasses, outValid] = ctx.outputs.map((o) => o.name);
  const slot = b.op('Greater', [top, f32(-Infinity)]);
  const safeIdx = b.op('Where', [slot, topIdx, b.scalar(0, 'int64')]);
  b.op('Where', [slot, top, f32(0)], {}, outScores);
  const boxRows = b.op('GatherND', [sortedBoxes, b.op('Unsqueeze', [safeIdx, b.int64s([2])])], {
    batch_dims: attr.int(1),
  });
  b.op('Where', [b.op('Unsqueeze', [slot, b.int64s([2])]), boxRows, f32(0)], {}, outBoxes);
  const cls = anchorClass
    ? b.op(
        'GatherElements',
        [
          b.op('GatherElements', [anchorClass, reshape(idx, [batch, p])], {
            axis: attr.int(1),
          }),
          safeIdx,
        ],
        { axis: attr.int(1) },
      )
    : b.op('Div', [safeIdx, b.scalar(p, 'int64')]);
  const clsOrZero = b.op('Where', [slot, cls, b.scalar(0, 'int64')]);
  b.op('Cast', [clsOrZero], { to: attr.int(OnnxDataType.INT32) }, outClasses);
  const slots = b.op('Cast', [slot], { to: attr.int(OnnxDataType.FLOAT) });
  const valid = b.op('ReduceSum', [slots, b.int64s([1])], { keepdims: attr.int(0) });
  b.op('Cast', [valid], { to: attr.int(OnnxDataType.INT32) }, outValid);
};

export const NMS_KERNELS: Record<string, KernelLowering> = {
  [NMS_PADDED]: nmsPadded,
};
