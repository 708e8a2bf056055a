/**
 * The registry of kernel lowerings: tfjs kernel name → function emitting the equivalent ONNX
 * nodes. The compiled step looks every recorded kernel up here; a kernel without an entry makes
 * the step run eagerly (with one warning naming it).
 */
import type { KernelLowering } from './context.js';
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

export type { KernelContext, KernelLowering, LoweredTensor } from './context.js';
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
