/**
 * FLOPs counter: runs one forward pass under `tf.profile` and sums the multiply-adds of the
 * kernels that carry a model's arithmetic, from their recorded input and output shapes:
 *
 * - Conv2D / Conv3D (also FusedConv2D): output elements × (kernel volume · input channels)
 * - DepthwiseConv2dNative (also FusedDepthwiseConv2D): output elements × kernel area
 * - Conv2DBackpropInput (Conv2DTranspose): input elements × kernel area · output channels (each
 *   input element scatters one kernel-sized patch into every output channel)
 * - BatchMatMul / _FusedMatMul (Dense, EinsumDense, attention): output elements × contracted size
 *
 * FLOPs are reported as 2 × multiply-adds (one multiply and one add each), the convention of
 * papers and of Keras' profiler. Element-wise work (batch norm, activations, adds, pooling,
 * softmax) is not counted, as in the published ResNet/ViT numbers: ResNet-50 at 224×224 is
 * ≈ 4.1 G multiply-adds (He et al. 2016, Table 1: 3.8 G for the v1 stride placement; Model
 * Garden's v1.5 blocks stride the 3×3 conv, which gives ≈ 4.1 G).
 *
 * Shape-only counting (`{ emptyBatch: true }`): the forward runs on a batch of 0 images, so every
 * kernel sees its real spatial and channel shapes but does no arithmetic (SpineNet-143 at 1280
 * counts in about a second), and each kernel's leading 0 counts as one example. That is exact for
 * convolutions, whose batch is their leading axis; a matmul may fold the batch with other axes
 * (tokens, attention heads), so a matmul seen this way is an error rather than a guess.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Multiply-adds of one profiled kernel; 0 for kernels without counted arithmetic. */
export function kernelMultiplyAdds(
  name: string,
  inputShapes: number[][],
  outputShapes: number[][],
  opts: { emptyBatch?: boolean } = {},
): number {
  let out = outputShapes[0];
  if (!out) return 0;
  const batchOne = (shape: number[]) =>
    opts.emptyBatch && shape.includes(0) ? [1, ...shape.slice(1)] : shape;
  if (opts.emptyBatch && out.includes(0)) {
    if (name === 'BatchMatMul' || name === '_FusedMatMul') {
      throw new Error(
        `countFlops: a ${name} on an empty batch cannot be counted from shapes (its batch may be folded with other axes); count this model with a batch of 1`,
      );
    }
    out = [1, ...out.slice(1)];
  }
  const outSize = out.reduce((n, d) => n * d, 1);
  const filter = inputShapes[1];
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D':
    case 'Conv3D': {
      if (!filter) return 0;
      // filter [...kernel, in, out]: each output element needs kernel volume · in products.
      return outSize * filter.slice(0, -1).reduce((n, d) => n * d, 1);
    }
    case 'Conv2DBackpropInput': {
      // inputs (dy, filter [kh, kw, out channels, in channels]).
      const dy = inputShapes[0];
      if (!dy || !filter) return 0;
      return batchOne(dy).reduce((n, d) => n * d, 1) * filter[0] * filter[1] * filter[2];
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D': {
      if (!filter) return 0;
      return outSize * (filter[0] ?? 1) * (filter[1] ?? 1);
    }
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const a = inputShapes[0];
      if (!a || a.length < 2 || out.length < 2) return 0;
      // a is [..., m, k] or (transposed) [..., k, m]; m is the output's second-to-last dim.
      const m = out[out.length - 2] as number;
      const last = a[a.length - 1] as number;
      const secondLast = a[a.length - 2] as number;
      const k = secondLast === m ? last : secondLast;
      return outSize * k;
    }
    default:
      return 0;
  }
}

export interface FlopsReport {
  /** 2 × multiply-adds. */
  flops: number;
  multiplyAdds: number;
  /** Multiply-adds per kernel name. */
  byKernel: Record<string, number>;
}

export interface CountFlopsOptions {
  /**
   * `forward` runs on a batch of 0 examples: count one example from the kernels' shapes alone
   * (convolutions only; see the file comment).
   */
  emptyBatch?: boolean;
}

/**
 * Counts the FLOPs of `forward` (one call, e.g. `() => model.apply(x)`) on the active backend.
 * Everything it creates is disposed (run it inside `withShapeOnlyBuild` to build big models fast).
 */
export async function countFlops(
  forward: () => unknown,
  opts: CountFlopsOptions = {},
): Promise<FlopsReport> {
  const info = await tf.profile(() =>
    tf.tidy(() => {
      forward();
      return tf.scalar(0);
    }),
  );
  const byKernel: Record<string, number> = {};
  let multiplyAdds = 0;
  for (const k of info.kernels) {
    const macs = kernelMultiplyAdds(k.name, k.inputShapes, k.outputShapes, opts);
    if (macs > 0) {
      byKernel[k.name] = (byKernel[k.name] ?? 0) + macs;
      multiplyAdds += macs;
    }
  }
  if (info.result instanceof tf.Tensor) info.result.dispose();
  return { flops: 2 * multiplyAdds, multiplyAdds, byKernel };
}
