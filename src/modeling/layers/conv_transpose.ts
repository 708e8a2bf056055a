/**
 * Transposed 2-D convolution (Keras `Conv2DTranspose`, used by Model Garden's mask head to
 * upsample RoI features, heads/instance_heads.py `mask-upsampling`). Input [B, H, W, in]; kernel
 * `kernel` [kh, kw, filters, in] (Keras' layout for the transpose), bias `bias` [filters].
 * Output size per spatial dim as Keras' `deconv_output_length` without output padding:
 * 'valid' → (n − 1)·s + k, 'same' → n·s. tf.conv2dTranspose runs the Conv2DBackpropInput
 * kernel, which the engine lowers to ONNX ConvTranspose.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type Initializer, type LayerOptions } from '../../core/layer.js';
import { getInitializer, type InitializerIdentifier } from '../../core/initializers.js';
import { checkPadding, setKerasDefaultName, toTuple, type Padding } from './layer_utils.js';

export interface Conv2DTransposeOptions extends LayerOptions {
  filters: number;
  kernelSize: number | number[];
  /** Default 1. */
  strides?: number | number[];
  /** Default 'valid' (Keras). */
  padding?: Padding;
  /** Default true. */
  useBias?: boolean;
  /** Default glorot_uniform (Keras). */
  kernelInitializer?: InitializerIdentifier;
  /** Default zeros. */
  biasInitializer?: InitializerIdentifier;
}

export class Conv2DTranspose extends Layer {
  readonly filters: number;
  readonly kernelSize: number[];
  readonly strides: number[];
  readonly padding: Padding;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private kernel: tf.Variable | null = null;
  private bias: tf.Variable | null = null;

  constructor(opts: Conv2DTransposeOptions) {
    super(opts);
    setKerasDefaultName(this, opts, 'conv2d_transpose');
    const what = `Conv2DTranspose '${this.name}'`;
    if (!Number.isInteger(opts.filters) || opts.filters < 1) {
      throw new Error(`${what}: filters must be a positive integer, got ${opts.filters}`);
    }
    this.filters = opts.filters;
    this.kernelSize = toTuple(opts.kernelSize, 2, `${what}: kernelSize`);
    this.strides = toTuple(opts.strides ?? 1, 2, `${what}: strides`);
    this.padding = checkPadding(opts.padding ?? 'valid', `${what}: padding`);
    if (this.padding === 'valid' && this.kernelSize.some((k, i) => k < this.strides[i])) {
      throw new Error(
        `${what}: padding 'valid' needs kernelSize >= strides, got [${this.kernelSize}] and [${this.strides}]`,
      );
    }
    this.useBias = opts.useBias ?? true;
    this.kernelInitializer = getInitializer(opts.kernelInitializer ?? 'glorot_uniform');
    this.biasInitializer = getInitializer(opts.biasInitializer ?? 'zeros');
  }

  private check(x: tf.Tensor): void {
    if (x.rank !== 4) {
      throw new Error(
        `Conv2DTranspose '${this.fullPath()}': expected a rank-4 NHWC input, got shape [${x.shape}]`,
      );
    }
  }

  protected override build(x: tf.Tensor): void {
    this.check(x);
    this.kernel = this.addWeight(
      'kernel',
      [...this.kernelSize, this.filters, x.shape[3] as number],
      {
        initializer: this.kernelInitializer,
        regularize: true,
      },
    );
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.filters], { initializer: this.biasInitializer });
    }
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    this.check(x);
    const [b, h, w] = x.shape as [number, number, number, number];
    const [kh, kw] = this.kernelSize as [number, number];
    const [sh, sw] = this.strides as [number, number];
    const out: [number, number, number, number] =
      this.padding === 'same'
        ? [b, h * sh, w * sw, this.filters]
        : [b, (h - 1) * sh + kh, (w - 1) * sw + kw, this.filters];
    return tf.tidy(() => {
      const y = tf.conv2dTranspose(
        x as tf.Tensor4D,
        this.kernel as tf.Tensor4D,
        out,
        [sh, sw],
        this.padding,
      );
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}
