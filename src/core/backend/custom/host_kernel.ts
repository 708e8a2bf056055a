/**
 * Kernels computed in JavaScript on host arrays, for the tfjs 'cpu' and 'wasm' backends alike:
 * the inputs are read with the backend's own `readSync` (cpu: its backing array; wasm: a copy out
 * of the heap), the kernel body works on typed arrays, and each output is written into a tensor
 * of that backend (cpu: `makeTensorInfo`; wasm: `makeOutput` + a view of the heap). Used by the
 * custom vision kernels of this folder, which tfjs has no kernels for.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** A tensor on the host: row-major values with shape and dtype. */
export interface HostTensor {
  values: tf.TypedArray;
  shape: number[];
  dtype: tf.DataType;
}

/** The kernel body: named host inputs and attributes → host outputs. */
export type HostKernelBody = (
  inputs: Record<string, HostTensor>,
  attrs: tf.NamedAttrMap,
) => HostTensor[];

interface HostBackend {
  readSync(dataId: tf.DataId): unknown;
  /** tfjs-backend-cpu. */
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values?: tf.TypedArray): tf.TensorInfo;
  /** tfjs-backend-wasm. */
  makeOutput?(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap?(info: tf.TensorInfo): tf.TypedArray;
}

function writeOutput(backend: HostBackend, out: HostTensor, kernelName: string): tf.TensorInfo {
  // cpu's makeOutput has another signature (values first): check makeTensorInfo first.
  if (backend.makeTensorInfo) return backend.makeTensorInfo(out.shape, out.dtype, out.values);
  if (backend.makeOutput && backend.typedArrayFromHeap) {
    const info = backend.makeOutput(out.shape, out.dtype);
    backend.typedArrayFromHeap(info).set(out.values);
    return info;
  }
  throw new Error(`${kernelName}: the active tfjs backend cannot hold host-computed outputs`);
}

/** A tfjs kernel function (cpu or wasm) running `body` on host arrays. */
export function hostKernel(
  kernelName: string,
  body: HostKernelBody,
): tf.KernelConfig['kernelFunc'] {
  return ({ inputs, backend, attrs }) => {
    const be = backend as unknown as HostBackend;
    const host: Record<string, HostTensor> = {};
    for (const [name, info] of Object.entries(inputs)) {
      if (!info) continue;
      const values = be.readSync(info.dataId);
      if (!ArrayBuffer.isView(values)) {
        throw new Error(`${kernelName}: input '${name}' has no numeric values`);
      }
      host[name] = { values: values as tf.TypedArray, shape: [...info.shape], dtype: info.dtype };
    }
    const outs = body(host, attrs ?? {}).map((o) => writeOutput(be, o, kernelName));
    return outs.length === 1 ? outs[0] : outs;
  };
}
