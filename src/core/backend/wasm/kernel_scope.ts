/**
 * Composition of registered wasm kernels inside another kernel.
 *
 * A {@link KernelScope} calls kernels of the 'wasm' backend directly (their `kernelFunc`, not the
 * engine), so no tensors, tape entries or backend switches are created: every intermediate stays
 * on the wasm heap. The scope remembers each intermediate and frees it in {@link dispose}; the
 * kernel's result is taken out of that list with {@link keep}.
 */
import * as tf from '@tensorflow/tfjs-core';

/** What the scope needs from the wasm backend object handed to a kernel function. */
export interface WasmBackendHandle {
  /** Decrements the refcount of `dataId` and frees it at zero (tfjs-backend-wasm semantics). */
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** The argument a kernel function receives from the engine. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** The named input of a kernel call; a clear error when the caller did not pass it. */
export function kernelInput(args: KernelArgs, name: string, kernelName: string): tf.TensorInfo {
  const t = args.inputs[name];
  if (!t) throw new Error(`${kernelName}: missing input '${name}'`);
  return t;
}

/** Paddings per dimension, `[before, after]`. */
export type Paddings = [number, number][];

export class KernelScope {
  private readonly temps: tf.TensorInfo[] = [];

  constructor(readonly backend: WasmBackendHandle) {}

  /** Runs the wasm kernel `kernelName` and records its output as an intermediate. */
  run(
    kernelName: string,
    inputs: tf.NamedTensorInfoMap,
    attrs: tf.NamedAttrMap = {},
  ): tf.TensorInfo {
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (!kernel) {
      throw new Error(
        `wasm training kernels: kernel '${kernelName}' is not registered for backend 'wasm' ` +
          `(load @tensorflow/tfjs-backend-wasm before registering the training kernels)`,
      );
    }
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      for (const o of out) this.temps.push(o);
      throw new Error(`wasm training kernels: kernel '${kernelName}' returned several outputs`);
    }
    this.temps.push(out);
    return out;
  }

  /** Records a tensor made outside `run` (e.g. an uploaded constant) as an intermediate. */
  adopt(t: tf.TensorInfo): tf.TensorInfo {
    this.temps.push(t);
    return t;
  }

  /** Removes `t` from the intermediates so {@link dispose} leaves it alive; returns it. */
  keep(t: tf.TensorInfo): tf.TensorInfo {
    const i = this.temps.lastIndexOf(t);
    if (i < 0) throw new Error('KernelScope.keep: tensor was not produced in this scope');
    this.temps.splice(i, 1);
    return t;
  }

  /** Frees an intermediate now (to bound peak memory in loops). */
  free(t: tf.TensorInfo): void {
    const i = this.temps.lastIndexOf(t);
    if (i < 0) return;
    this.temps.splice(i, 1);
    this.backend.disposeData(t.dataId);
  }

  /** Frees every intermediate not kept. */
  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }

  /** Runs `body` with a fresh scope, keeps its result and frees everything else. */
  static compute(
    backend: WasmBackendHandle,
    body: (s: KernelScope) => tf.TensorInfo,
  ): tf.TensorInfo {
    const scope = new KernelScope(backend);
    try {
      let result = body(scope);
      // A body may hand back one of its inputs unchanged: the kernel must still return new data.
      if (!scope.temps.includes(result)) result = scope.run('Identity', { x: result });
      return scope.keep(result);
    } finally {
      scope.dispose();
    }
  }

  // ---- thin wrappers over the wasm kernels used by the compositions ----

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Zero (or `value`) padding; returns `x` itself (no copy) when all paddings are 0. */
  pad(x: tf.TensorInfo, paddings: Paddings, value = 0): tf.TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x;
    return this.run('PadV2', { x }, { paddings, constantValue: value });
  }

  /**
   * Pads where an amount is positive and crops where it is negative, so the result has size
   * `before + x.shape[d] + after` along each dimension `d`. Padding uses `value`.
   */
  padOrCrop(x: tf.TensorInfo, paddings: Paddings, value = 0): tf.TensorInfo {
    const padded = this.pad(
      x,
      paddings.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)]),
      value,
    );
    if (paddings.every(([a, b]) => a >= 0 && b >= 0)) return padded;
    const begin = paddings.map(([a]) => Math.max(-a, 0));
    const size = paddings.map(([a, b], d) => x.shape[d] + a + b);
    return this.slice(padded, begin, size);
  }

  slice(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  /** `x[begin:end:strides]` per dimension (no masks). */
  stridedSlice(x: tf.TensorInfo, begin: number[], end: number[], strides: number[]): tf.TensorInfo {
    if (strides.every((s) => s === 1)) {
      return this.slice(
        x,
        begin,
        end.map((e, d) => e - begin[d]),
      );
    }
    return this.run(
      'StridedSlice',
      { x },
      {
        begin,
        end,
        strides,
        beginMask: 0,
        endMask: 0,
        ellipsisMask: 0,
        newAxisMask: 0,
        shrinkAxisMask: 0,
      },
    );
  }

  matMul(
    a: tf.TensorInfo,
    b: tf.TensorInfo,
    transposeA = false,
    transposeB = false,
  ): tf.TensorInfo {
    return this.run('BatchMatMul', { a, b }, { transposeA, transposeB });
  }

  sum(x: tf.TensorInfo, axis: number[], keepDims = false): tf.TensorInfo {
    return this.run('Sum', { x }, { axis, keepDims });
  }

  reverse(x: tf.TensorInfo, dims: number[]): tf.TensorInfo {
    return this.run('Reverse', { x }, { dims });
  }

  concat(xs: tf.TensorInfo[], axis: number): tf.TensorInfo {
    if (xs.length === 1) return xs[0];
    // Concat takes its inputs as an array-like map, as the engine passes them.
    return this.run('Concat', xs as unknown as tf.NamedTensorInfoMap, { axis });
  }

  add(a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
    return this.run('Add', { a, b });
  }

  cast(x: tf.TensorInfo, dtype: tf.DataType): tf.TensorInfo {
    return this.run('Cast', { x }, { dtype });
  }

  fill(shape: number[], value: number, dtype: tf.DataType): tf.TensorInfo {
    return this.run('Fill', {}, { shape, value, dtype });
  }
}
