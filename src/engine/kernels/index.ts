/**
 * The registry of kernel lowerings: tfjs kernel name → function emitting the equivalent ONNX
 * nodes. The compiled step looks every recorded kernel up here; a kernel without an entry cannot
 * be compiled (runtime.engine_fallback: the step runs eagerly after one warning, or fails).
 * A lowering may declare `valueDependentShape` (./context.ts); unlowered kernels whose output
 * shape depends on values are listed in VALUE_DEPENDENT_KERNELS, so the refusal says why.
 */
import type { KernelLowering, ValueDependence } from './context.js';
import { CONV_KERNELS } from './conv.js';
import { CONV_GROUPED_KERNELS } from './conv_grouped.js';
import { ELEMENTWISE_KERNELS } from './elementwise.js';
import { MATMUL_KERNELS } from './matmul.js';
import { NMS_KERNELS } from './nms.js';
import { POOL_KERNELS } from './pool.js';
import { REDUCTION_KERNELS } from './reduction.js';
import { RESIZE_KERNELS } from './resize.js';
import { SELECT_KERNELS } from './select.js';
import { SHAPE_KERNELS } from './shape.js';
import { SPACE_BATCH_KERNELS } from './space_batch.js';

export type { KernelContext, KernelLowering, LoweredTensor, ValueDependence } from './context.js';
export { UnsupportedKernelError } from './context.js';

const REGISTRY = new Map<string, KernelLowering>(
  Object.entries({
    ...ELEMENTWISE_KERNELS,
    ...REDUCTION_KERNELS,
    ...SHAPE_KERNELS,
    ...MATMUL_KERNELS,
    ...CONV_KERNELS,
    ...POOL_KERNELS,
    ...RESIZE_KERNELS,
    ...NMS_KERNELS,
    ...CONV_GROUPED_KERNELS,
    ...SPACE_BATCH_KERNELS,
    ...SELECT_KERNELS,
  }),
);

/**
 * tfjs kernels whose output shape depends on input values (tfjs-core's kernel_names.ts): the
 * number of boxes kept by unpadded non-max suppression, of true elements (`Where`, which
 * `booleanMaskAsync` and `whereAsync` use), of distinct values (`Unique`), of sparse and ragged
 * results. NonMaxSuppressionV4 with `padToMaxOutputSize` has the static shape [maxOutputSize].
 */
const VALUE_DEPENDENT_KERNELS: Readonly<Record<string, ValueDependence>> = {
  NonMaxSuppressionV3: true,
  NonMaxSuppressionV4: (attrs) => attrs.padToMaxOutputSize !== true,
  NonMaxSuppressionV5: true,
  Where: true,
  Unique: true,
  SparseFillEmptyRows: true,
  SparseReshape: true,
  SparseSegmentMean: true,
  SparseSegmentSum: true,
  StringSplit: true,
  StringNGrams: true,
  RaggedGather: true,
  RaggedRange: true,
};

/**
 * Whether a call's output shape depends on its input values: the lowering's declaration when it
 * has one, else the table above (default: the shape follows from input shapes and attributes).
 */
export function hasValueDependentShape(
  kernelName: string,
  attrs: Readonly<Record<string, unknown>>,
): boolean {
  const declared = REGISTRY.get(kernelName)?.valueDependentShape;
  const dep = declared ?? VALUE_DEPENDENT_KERNELS[kernelName] ?? false;
  return typeof dep === 'function' ? dep(attrs) : dep;
}

/** The lowering of a tfjs kernel, or undefined when it has none. */
export function kernelLowering(kernelName: string): KernelLowering | undefined {
  return REGISTRY.get(kernelName);
}

/** Names of every tfjs kernel with a lowering, sorted. */
export function mappedKernels(): string[] {
  return [...REGISTRY.keys()].sort();
}

/**
 * Registers (or, for tests, replaces) a lowering. Returns the previous one so callers can
 * restore it.
 */
export function registerKernelLowering(
  kernelName: string,
  lowering: KernelLowering | undefined,
): KernelLowering | undefined {
  const previous = REGISTRY.get(kernelName);
  if (lowering) REGISTRY.set(kernelName, lowering);
  else REGISTRY.delete(kernelName);
  return previous;
}
