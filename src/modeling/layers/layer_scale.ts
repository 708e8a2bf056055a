/**
 * Model Garden `nn_blocks.MNV4LayerScale` (CaiT's LayerScale as MobileNetV4 uses it): y = x · γ
 * with one learned `gamma` per channel, initialised to `initValue`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';
import { constant } from '../../core/initializers.js';
import { setKerasDefaultName } from './layer_utils.js';

export interface LayerScaleOptions extends LayerOptions {
  /** Default 1e-5 (MG's layer_scale_init_value). */
  initValue?: number;
}

export class MNV4LayerScale extends Layer {
  private readonly initValue: number;
  private gamma: tf.Variable | null = null;

  constructor(opts: LayerScaleOptions = {}) {
    super(opts);
    setKerasDefaultName(this, opts, 'mnv4_layer_scale');
    this.initValue = opts.initValue ?? 1e-5;
  }

  protected override build(x: tf.Tensor): void {
    this.gamma = this.addWeight('_gamma', [x.shape[x.rank - 1] as number], {
      initializer: constant(this.initValue),
    });
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    return tf.mul(x, this.gamma as tf.Variable);
  }
}
