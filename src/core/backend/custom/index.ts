/**
 * Custom vision kernels tfjs does not have, registered for the 'cpu' and 'wasm' backends: their
 * op functions live in src/ops (which call {@link registerCustomKernels} on import), their ONNX
 * lowerings in src/engine/kernels under the same kernel names.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  CONV3D_GROUPED,
  CONV3D_GROUPED_BACKPROP_FILTER,
  CONV3D_GROUPED_BACKPROP_INPUT,
  conv3dGroupedBackpropFilterKernel,
  conv3dGroupedBackpropInputKernel,
  conv3dGroupedKernel,
} from './conv3d_grouped.js';
import { NMS_PADDED, nmsPaddedKernel } from './nms_padded.js';

export * from './conv3d_grouped.js';
export * from './nms_padded.js';
export type { HostTensor } from './host_kernel.js';

const KERNELS: [string, tf.KernelConfig['kernelFunc']][] = [
  [NMS_PADDED, nmsPaddedKernel],
  [CONV3D_GROUPED, conv3dGroupedKernel],
  [CONV3D_GROUPED_BACKPROP_INPUT, conv3dGroupedBackpropInputKernel],
  [CONV3D_GROUPED_BACKPROP_FILTER, conv3dGroupedBackpropFilterKernel],
];

/** The backends the custom kernels are registered for. */
export const CUSTOM_KERNEL_BACKENDS = ['cpu', 'wasm'] as const;

/**
 * Registers the custom kernels for cpu and wasm. Idempotent: a kernel already registered under
 * its name (by this module, possibly wrapped since by the engine's tracer) is left alone.
 */
export function registerCustomKernels(): void {
  for (const backendName of CUSTOM_KERNEL_BACKENDS) {
    for (const [kernelName, kernelFunc] of KERNELS) {
      if (tf.getKernel(kernelName, backendName)) continue;
      tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}
