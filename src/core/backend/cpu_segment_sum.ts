/**
 * UnsortedSegmentSum (the gradient of GatherV2) for tfjs-backend-cpu, replacing its kernel: cpu
 * computes one masked sum over all of x per segment (numSegments x size(x) work through its
 * generic broadcasting loops), which took minutes for the gradient of RoIAlign's gather from a
 * whole feature pyramid (Mask R-CNN). This one adds each row of x into its segment once.
 *
 * `out[s, ...] = Σ_{i : ids[i] = s} x[i, ...]`, out shape [numSegments, ...x.shape[ids.rank:]];
 * rows whose id is negative or ≥ numSegments are dropped, as in TF (and ./wasm/unsorted_segment_sum.ts).
 */
import * as tf from '@tensorflow/tfjs-core';

interface CpuData {
  data: { get(id: unknown): { values: tf.TypedArray } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.TypedArray): tf.TensorInfo;
}

function unsortedSegmentSum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, segmentIds } = args.inputs;
  const numSegments = args.attrs?.numSegments as number;
  if (!x || !segmentIds) throw new Error("UnsortedSegmentSum (cpu): needs 'x' and 'segmentIds'");
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(
      `UnsortedSegmentSum (cpu): numSegments must be a non-negative integer, got ${numSegments}`,
    );
  }
  const idsRank = segmentIds.shape.length;
  if (!tf.util.arraysEqual(x.shape.slice(0, idsRank), segmentIds.shape)) {
    throw new Error(
      `UnsortedSegmentSum (cpu): segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
    );
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum (cpu): x must be float32 or int32, got ${x.dtype}`);
  }
  const backend = args.backend as CpuData;
  const values = backend.data.get(x.dataId).values;
  const ids = backend.data.get(segmentIds.dataId).values;
  const rowShape = x.shape.slice(idsRank);
  const d = tf.util.sizeFromShape(rowShape);
  const out =
    x.dtype === 'int32' ? new Int32Array(numSegments * d) : new Float32Array(numSegments * d);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (!(s >= 0 && s < numSegments)) continue;
    const src = i * d;
    const dst = s * d;
    for (let k = 0; k < d; k++) out[dst + k] += values[src + k];
  }
  return backend.makeTensorInfo([numSegments, ...rowShape], x.dtype, out);
}

let registered = false;

/** Replaces cpu's UnsortedSegmentSum kernel (once). */
export function registerCpuSegmentSumKernel(): void {
  if (registered) return;
  registered = true;
  tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'cpu',
    kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
  });
}
