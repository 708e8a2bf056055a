/**
 * UnsortedSegmentSum for the wasm backend (the gradient of GatherV2), composed from wasm kernels.
 *
 * `out[s, ...] = Σ_{i : ids[i] = s} x[i, ...]`, out shape [numSegments, ...x.shape[ids.rank:]].
 * Built as a wasm ScatterNd (which adds rows with equal indices) of x viewed as [n, D] at rows
 * `ids`, n = size(ids). As in TF, rows whose id is negative or ≥ numSegments are dropped: they are
 * redirected (GreaterEqual/Less/LogicalAnd/Select) to one extra scratch row that is sliced off.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  KernelScope,
  type KernelArgs,
  type WasmBackendHandle,
  kernelInput,
} from './kernel_scope.js';

/** UnsortedSegmentSum: inputs {x, segmentIds}, attrs {numSegments}. */
export function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const x = kernelInput(args, 'x', 'UnsortedSegmentSum');
  const segmentIds = kernelInput(args, 'segmentIds', 'UnsortedSegmentSum');
  const numSegments = (args.attrs as unknown as { numSegments: number }).numSegments;
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(
      `UnsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`,
    );
  }
  const idsRank = segmentIds.shape.length;
  if (!tf.util.arraysEqual(x.shape.slice(0, idsRank), segmentIds.shape)) {
    throw new Error(
      `UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
    );
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum on wasm: x must be float32 or int32, got ${x.dtype}`);
  }
  const n = tf.util.sizeFromShape(segmentIds.shape);
  const rowShape = x.shape.slice(idsRank);
  const rowSize = tf.util.sizeFromShape(rowShape);
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    if (n === 0 || rowSize === 0) return s.fill([numSegments, ...rowShape], 0, x.dtype);
    const ids = segmentIds.dtype === 'int32' ? segmentIds : s.cast(segmentIds, 'int32');
    const flatIds = s.reshape(ids, [n]);
    const valid = s.run('LogicalAnd', {
      a: s.run('GreaterEqual', { a: flatIds, b: s.fill([n], 0, 'int32') }),
      b: s.run('Less', { a: flatIds, b: s.fill([n], numSegments, 'int32') }),
    });
    const safeIds = s.run('Select', {
      condition: valid,
      t: flatIds,
      e: s.fill([n], numSegments, 'int32'),
    });
    const rows = s.run(
      'ScatterNd',
      { indices: s.reshape(safeIds, [n, 1]), updates: s.reshape(x, [n, rowSize]) },
      { shape: [numSegments + 1, rowSize] },
    );
    const kept = s.slice(rows, [0, 0], [numSegments, rowSize]);
    return s.reshape(kept, [numSegments, ...rowShape]);
  });
}
