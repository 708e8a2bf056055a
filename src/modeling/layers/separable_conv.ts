/**
 * Keras `SeparableConv2D` (NHWC): a depthwise convolution (`depthwise_kernel`
 * [kh, kw, in, depthMultiplier]) followed by a 1×1 pointwise one (`pointwise_kernel`
 * [1, 1, in·depthMultiplier, filters]) and a bias [filters]. Keras initialises both kernels with
 * glorot_uniform unless told otherwise; Model Garden's RetinaNet head and FPN keep those defaults
 * and pass no kernel regularizer for separable convolutions (heads/dense_prediction_heads.py),
 * so the kernels are not l2-regularized unless `regularize` is set.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type Initializer, type LayerOptions } from '../../core/layer.js';
import { getInitializer, type InitializerIdentifier } from '../../core/initializers.js';
import { checkPadding, setKerasDefaultName, toTuple, type Padding } from './layer_utils.js';

export interface SeparableConv2DOptions extends LayerOptions {
  filters: number;
  kernelSize: number | number[];
  /** Default 1. */
  strides?: number | number[];
  /** Default 'valid' (Keras). */
  padding?: Padding;
  /** Default 1. */
  depthMultiplier?: number;
  /** Default true. */
  useBias?: boolean;
  /** Default glorot_uniform. */
  depthwiseInitializer?: InitializerIdentifier;
  /** Default glorot_uniform. */
  pointwiseInitializer?: InitializerIdentifier;
  /** Default zeros. */
  biasInitializer?: InitializerIdentifier;
  /** Whether l2 weight decay applies to the two kernels; default false (see the module doc). */
  regularize?: boolean;
}

export class SeparableConv2D extends Layer {
  readonly filters: number;
  readonly kernelSize: number[];
  readonly strides: number[];
  readonly padding: Padding;
  readonly depthMultiplier: number;
  readonly useBias: boolean;
  private readonly depthwiseInit: Initializer;
  private readonly pointwiseInit: Initializer;
  private readonly biasInit: Initializer;
  private readonly regularize: boolean;
  private depthwise: tf.Variable | null = null;
  private pointwise: tf.Variable | null = null;
  private bias: tf.Variable | null = null;

  constructor(opts: SeparableConv2DOptions) {
    super(opts);
    setKerasDefaultName(this, opts, 'separable_conv2d');
    const what = `SeparableConv2D '${this.name}'`;
    if (!Number.isInteger(opts.filters) || opts.filters < 1) {
      throw new Error(`${what}: filters must be a positive integer, got ${opts.filters}`);
    }
    const m = opts.depthMultiplier ?? 1;
    if (!Number.isInteger(m) || m < 1) {
      throw new Error(`${what}: depthMultiplier must be a positive integer, got ${m}`);
    }
    this.filters = opts.filters;
    this.kernelSize = toTuple(opts.kernelSize, 2, `${what}: kernelSize`);
    this.strides = toTuple(opts.strides ?? 1, 2, `${what}: strides`);
    this.padding = checkPadding(opts.padding ?? 'valid', `${what}: padding`);
    this.depthMultiplier = m;
    this.useBias = opts.useBias ?? true;
    this.depthwiseInit = getInitializer(opts.depthwiseInitializer ?? 'glorot_uniform');
    this.pointwiseInit = getInitializer(opts.pointwiseInitializer ?? 'glorot_uniform');
    this.biasInit = getInitializer(opts.biasInitializer ?? 'zeros');
    this.regularize = opts.regularize ?? false;
  }

  private checkInput(x: tf.Tensor): number {
    if (x.rank !== 4) {
      throw new Error(
        `SeparableConv2D '${this.fullPath()}': expected a rank-4 NHWC input, got shape [${x.shape}]`,
      );
    }
    return x.shape[3] as number;
  }

  protected override build(x: tf.Tensor): void {
    const inChannels = this.checkInput(x);
    this.depthwise = this.addWeight(
      'depthwise_kernel',
      [...this.kernelSize, inChannels, this.depthMultiplier],
      { initializer: this.depthwiseInit, regularize: this.regularize },
    );
    this.pointwise = this.addWeight(
      'pointwise_kernel',
      [1, 1, inChannels * this.depthMultiplier, this.filters],
      { initializer: this.pointwiseInit, regularize: this.regularize },
    );
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.filters], { initializer: this.biasInit });
    }
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    this.checkInput(x);
    return tf.tidy(() => {
      const d = tf.depthwiseConv2d(
        x as tf.Tensor4D,
        this.depthwise as tf.Variable as tf.Tensor4D,
        [this.strides[0], this.strides[1]],
        this.padding,
      );
      const y = tf.conv2d(d, this.pointwise as tf.Variable as tf.Tensor4D, 1, 'valid');
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}
