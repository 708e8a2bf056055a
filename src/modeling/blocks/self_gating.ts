/**
 * Self-gating of S3D-G (Xie et al. 2018, "Rethinking Spatiotemporal Feature Learning"), as Model
 * Garden's `nn_blocks_3d.SelfGating`: a per-channel gate from the clip's global average,
 * y = x · sigmoid(W · mean_{t,h,w}(x) + b), with W a 1×1×1 Conv3D `_transformer_w` (bias, no norm
 * or activation, truncated-normal(0.01) kernel, which Model Garden leaves out of l2 weight decay).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { truncatedNormal } from '../../core/initializers.js';
import { Conv3D } from '../layers/conv.js';

export interface SelfGatingOptions {
  /** Channels of the input (and of the gate). */
  filters: number;
  name?: string;
}

export class SelfGating extends Layer<tf.Tensor, tf.Tensor> {
  readonly filters: number;
  private readonly transform: Conv3D;

  constructor(opts: SelfGatingOptions) {
    super({ name: opts.name });
    this.filters = opts.filters;
    this.transform = this.add(
      '_transformer_w',
      new Conv3D({
        filters: opts.filters,
        kernelSize: 1,
        useBias: true,
        kernelInitializer: truncatedNormal({ mean: 0, stddev: 0.01 }),
        // MG builds this conv without a kernel_regularizer: no l2 weight decay.
        kernelRegularize: false,
      }),
    );
  }

  /** x: [batch, t, h, w, filters] → same shape. */
  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    if (x.rank !== 5 || x.shape[4] !== this.filters) {
      throw new Error(
        `SelfGating '${this.fullPath()}': expected [batch, t, h, w, ${this.filters}], got [${x.shape}]`,
      );
    }
    return tf.tidy(() => {
      const pooled = tf.mean(x, [1, 2, 3], true);
      return tf.mul(tf.sigmoid(this.transform.apply(pooled, args)), x);
    });
  }
}
