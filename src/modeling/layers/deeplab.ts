/**
 * DeepLab's Atrous Spatial Pyramid Pooling (Model Garden `modeling/layers/deeplab.py`
 * `SpatialPyramidPooling`, the `spp_layer_version: v1` layer of the ASPP decoder; Chen et al.
 * arXiv:1706.05587 and, for the separable variant, arXiv:1802.02611).
 *
 * Branches on the same input [B, h, w, C], each ending in BN + activation with `outputChannels`
 * filters and no conv bias: a 1×1 conv; one 3×3 conv per dilation rate (with
 * `useDepthwiseConvolution`, a 3×3 dilated depthwise conv then a 1×1 conv); image pooling —
 * global average pooling, or average pooling with `poolKernelSize` (stride = kernel, 'valid') —
 * then a 1×1 conv, resized back to h × w bilinearly (TF2 `tf.image.resize`: half-pixel centres,
 * no corner alignment). The branches are concatenated and projected by a 1×1 conv + BN +
 * activation + dropout.
 *
 * Model Garden builds each branch as a `tf.keras.Sequential`, so the checkpoint holds them as
 * `aspp_layers/<i>/layer_with_weights-<k>` and `projection/layer_with_weights-<k>`; the image
 * pooling branch nests the conv's Sequential as its own `layer_with_weights-0`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { getActivation, type ActivationFn } from './activations.js';
import { Conv2D, DepthwiseConv2D } from './conv.js';
import { Dropout } from './dropout.js';
import { BatchNormalization } from './normalization.js';
import { AvgPool2D } from './pooling.js';

/** TF2's `tf.image.resize(x, size)` bilinear: half-pixel centres, corners not aligned. */
export function resizeBilinearTf2(x: tf.Tensor, size: readonly [number, number]): tf.Tensor {
  const [h, w] = x.shape.slice(1, 3) as number[];
  if (h === size[0] && w === size[1]) return x;
  return tf.image.resizeBilinear(x as tf.Tensor4D, [size[0], size[1]], false, true);
}

/**
 * A `tf.keras.Sequential` of layers, each followed by an optional function (the activation of a
 * Keras `Activation` layer); weight-holding layers are tracked as `layer_with_weights-<k>` and the
 * others (pooling, dropout) under their own attribute.
 */
export class KerasSequential extends Layer<tf.Tensor, tf.Tensor> {
  private readonly steps: (Layer<tf.Tensor, tf.Tensor> | ActivationFn)[] = [];
  private weighted = 0;

  /** Appends a layer; `weighted` layers take the next `layer_with_weights-<k>` attribute. */
  push(layer: Layer<tf.Tensor, tf.Tensor>, weighted: boolean): this {
    const attr = weighted ? `layer_with_weights-${this.weighted++}` : `_layer_${this.steps.length}`;
    this.steps.push(this.add(attr, layer));
    return this;
  }

  /** Appends a weightless function (a Keras `Activation` layer or a reshape). */
  then(fn: ActivationFn): this {
    this.steps.push(fn);
    return this;
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    let y = x;
    for (const step of this.steps) y = step instanceof Layer ? step.apply(y, args) : step(y);
    return y;
  }
}

export interface SpatialPyramidPoolingOptions {
  outputChannels: number;
  dilationRates: readonly number[];
  /** [height, width] of the image-pooling window in feature pixels; null = global pooling. */
  poolKernelSize?: readonly number[] | null;
  normMomentum?: number;
  normEpsilon?: number;
  activation?: string;
  /** Dropout rate after the projection (Model Garden's layer default 0.5; ASPP passes its own). */
  dropout?: number;
  /** Of the 1×1 / 3×3 convs (Keras default glorot_uniform; ASPP passes 'VarianceScaling'). */
  kernelInitializer?: string;
  /** Only 'bilinear' (the only interpolation the ASPP decoder passes). */
  interpolation?: string;
  useDepthwiseConvolution?: boolean;
  name?: string;
}

export class SpatialPyramidPooling extends Layer<tf.Tensor, tf.Tensor> {
  readonly outputChannels: number;
  private readonly branches: KerasSequential[] = [];
  private readonly projection: KerasSequential;

  constructor(opts: SpatialPyramidPoolingOptions) {
    super({ name: opts.name });
    if (!Number.isInteger(opts.outputChannels) || opts.outputChannels < 1) {
      throw new Error(
        `spatial pyramid pooling: num_filters must be a positive integer, got ${opts.outputChannels}`,
      );
    }
    if ((opts.interpolation ?? 'bilinear') !== 'bilinear') {
      throw new Error(
        `spatial pyramid pooling: interpolation '${opts.interpolation}' is not supported; use bilinear`,
      );
    }
    const pool = opts.poolKernelSize ?? null;
    if (pool && (pool.length !== 2 || !pool.every((p) => Number.isInteger(p) && p >= 1))) {
      throw new Error(
        `spatial pyramid pooling: pool_kernel_size must be [height, width] of at least 1 feature pixel each, got [${pool}]`,
      );
    }
    this.outputChannels = opts.outputChannels;
    const act = getActivation(opts.activation ?? 'relu');
    const initName = opts.kernelInitializer ?? 'glorot_uniform';
    const bn = () =>
      new BatchNormalization({
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
      });
    const conv = (kernelSize: number, dilationRate = 1) =>
      new Conv2D({
        filters: opts.outputChannels,
        kernelSize,
        dilationRate,
        padding: kernelSize === 1 ? 'valid' : 'same',
        useBias: false,
        kernelInitializer: getInitializer(initName),
      });
    const convBnAct = (seq: KerasSequential, kernelSize: number, dilationRate = 1) =>
      seq.push(conv(kernelSize, dilationRate), true).push(bn(), true).then(act);

    const branch = (i: number) => this.add(`aspp_layers/${i}`, new KerasSequential());
    let i = 0;
    this.branches.push(convBnAct(branch(i++), 1));
    for (const rate of opts.dilationRates) {
      if (!Number.isInteger(rate) || rate < 1) {
        throw new Error(
          `spatial pyramid pooling: dilation_rates must be positive integers, got [${opts.dilationRates}]`,
        );
      }
      const seq = branch(i++);
      if (opts.useDepthwiseConvolution) {
        seq.push(
          new DepthwiseConv2D({
            kernelSize: 3,
            padding: 'same',
            dilationRate: rate,
            useBias: false,
          }),
          true,
        );
        // MG's 1×1 conv here also carries the dilation rate, which a 1×1 kernel ignores.
        this.branches.push(convBnAct(seq, 1));
      } else {
        this.branches.push(convBnAct(seq, 3, rate));
      }
    }
    const poolSeq = branch(i);
    if (pool) poolSeq.push(new AvgPool2D({ poolSize: [pool[0], pool[1]] }), false);
    else poolSeq.then((x) => tf.mean(x, [1, 2], true));
    poolSeq.push(convBnAct(new KerasSequential(), 1), true);
    this.branches.push(poolSeq);

    this.projection = this.add('projection', new KerasSequential());
    convBnAct(this.projection, 1).push(new Dropout({ rate: opts.dropout ?? 0.5 }), false);
  }

  /** x: [B, h, w, C] → [B, h, w, outputChannels]. */
  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    if (x.rank !== 4) {
      throw new Error(`${this.fullPath()}: expected [batch, h, w, c] input, got [${x.shape}]`);
    }
    const size = x.shape.slice(1, 3) as [number, number];
    return tf.tidy(() => {
      const outs = this.branches.map((b, k) => {
        const y = b.apply(x, args);
        return k === this.branches.length - 1 ? resizeBilinearTf2(y, size) : y;
      });
      return this.projection.apply(tf.concat(outs, -1), args);
    });
  }
}
