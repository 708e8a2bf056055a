/**
 * Convolution layers with Keras semantics: Conv2D and DepthwiseConv2D (NHWC), Conv3D (NDHWC).
 *
 * Padding follows TF: 'same' gives out = ceil(in / stride) with pad_total =
 * max((out - 1)·stride + (k - 1)·dilation + 1 - in, 0), floor(pad_total / 2) before and the rest
 * after (bottom/right get the extra pixel); 'valid' pads nothing.
 *
 * Dilated (atrous) 2-D and depthwise convolutions run tfjs's dilated kernel, with a gradient
 * ({@link dilatedConv2d}) made of the backprop kernels called with `dilations` (tfjs-core's own
 * gradients refuse dilation > 1) on the backends whose backprops honour it (cpu, wasm); the
 * engine compiles them to one ONNX Conv with `dilations`. Elsewhere, and for Conv3D, they are
 * computed as TF's `tf.nn.convolution` does ({@link atrousConvolution}): pad, spaceToBatchND with
 * the dilation as block shape, an undilated stride-1 'valid' convolution, batchToSpaceND. Both give
 * TF's atrous result (SAME padding of the dilated kernel split as TF); bench/engine/dilated_conv.ts
 * measured the compiled training step of the dilated-kernel form ~20-30 % faster.
 * As in TF, a stride > 1 together with a dilation > 1 is rejected.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type Initializer, type LayerOptions } from '../../core/layer.js';
import { DILATED_BACKPROP_BACKENDS } from '../../core/backend/index.js';
import { getInitializer, type InitializerIdentifier } from '../../core/initializers.js';
import { conv3dGrouped } from '../../ops/conv3d_grouped.js';
import { getActivation, type ActivationFn } from './activations.js';
import { checkPadding, setKerasDefaultName, toTuple, type Padding } from './layer_utils.js';

/**
 * TF padding of one spatial dimension: `[before, after]` and the output size.
 * @param inSize input size along the dimension
 * @param kernel kernel size (undilated)
 */
export function tfPadding(
  inSize: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: Padding,
): { before: number; after: number; outSize: number } {
  const effective = (kernel - 1) * dilation + 1;
  if (padding === 'valid') {
    return { before: 0, after: 0, outSize: Math.ceil((inSize - effective + 1) / stride) };
  }
  const outSize = Math.ceil(inSize / stride);
  const total = Math.max((outSize - 1) * stride + effective - inSize, 0);
  const before = Math.floor(total / 2);
  return { before, after: total - before, outSize };
}

/**
 * Runs an undilated stride-1 'valid' convolution `conv` as a dilated one (TF's
 * with_space_to_batch): x is [batch, ...spatial, channels].
 */
export function atrousConvolution(
  x: tf.Tensor,
  kernel: number[],
  dilation: number[],
  padding: Padding,
  conv: (t: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  const paddings: [number, number][] = [];
  const crops: [number, number][] = [];
  kernel.forEach((k, i) => {
    const d = dilation[i];
    const { before, after } = tfPadding(x.shape[i + 1], k, 1, d, padding);
    const padded = x.shape[i + 1] + before + after;
    // Extra padding so the padded size is a multiple of the block; cropped off afterwards.
    const extra = (d - (padded % d)) % d;
    paddings.push([before, after + extra]);
    crops.push([0, extra]);
  });
  const blocks = tf.spaceToBatchND(x, dilation, paddings);
  const y = conv(blocks);
  return tf.batchToSpaceND(y, dilation, crops);
}

/**
 * A stride-1 dilated 2-D convolution (regular, or depthwise with filter [kh, kw, in, multiplier])
 * of NHWC `x`, whose gradient calls the Conv2D / depthwise backprop kernels with `dilations`; only
 * for backends in DILATED_BACKPROP_BACKENDS (src/core/backend/index.ts).
 */
export function dilatedConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  dilation: [number, number],
  padding: Padding,
  depthwise: boolean,
): tf.Tensor4D {
  const attrs = { strides: 1, pad: padding, dataFormat: 'NHWC', dilations: dilation };
  const f = (xx: tf.Tensor4D, ww: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([xx, ww]);
    const value = depthwise
      ? tf.depthwiseConv2d(xx, ww, 1, padding, 'NHWC', dilation)
      : tf.conv2d(xx, ww, 1, padding, 'NHWC', dilation);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sx, sw] = saved;
      const prefix = depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
      return [
        tf
          .engine()
          .runKernel(
            `${prefix}BackpropInput`,
            { dy, filter: sw },
            { ...attrs, inputShape: sx.shape },
          ) as tf.Tensor,
        tf
          .engine()
          .runKernel(
            `${prefix}BackpropFilter`,
            { x: sx, dy },
            { ...attrs, filterShape: sw.shape },
          ) as tf.Tensor,
      ];
    };
    return { value, gradFunc };
  };
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0])(
    x,
    filter,
  ) as tf.Tensor4D;
}

function checkStridesDilation(what: string, strides: number[], dilation: number[]): void {
  if (strides.some((s) => s > 1) && dilation.some((d) => d > 1)) {
    // tf.nn.convolution: "If any value of strides is > 1, then all values of dilation_rate must be 1."
    throw new Error(
      `${what}: strides [${strides}] with dilationRate [${dilation}] is not supported ` +
        `(as in TensorFlow, output striding cannot be combined with atrous convolution; ` +
        `one of them must be 1)`,
    );
  }
}

function checkSpatial(
  what: string,
  x: tf.Tensor,
  kernel: number[],
  dilation: number[],
  padding: Padding,
) {
  if (padding !== 'valid') return;
  kernel.forEach((k, i) => {
    const effective = (k - 1) * dilation[i] + 1;
    if (x.shape[i + 1] < effective) {
      throw new Error(
        `${what}: input shape [${x.shape}] is smaller than the (dilated) kernel ` +
          `[${kernel.map((kk, j) => (kk - 1) * dilation[j] + 1)}] with padding 'valid'`,
      );
    }
  });
}

interface ConvCommonOptions extends LayerOptions {
  /** Kernel size, one number for all spatial dims or one per dim. */
  kernelSize: number | number[];
  /** Default 1. */
  strides?: number | number[];
  /** Default 'valid' (Keras); Model Garden mostly passes 'same'. */
  padding?: Padding;
  /** Default 1. */
  dilationRate?: number | number[];
  /** Default true. */
  useBias?: boolean;
  /** Default zeros. */
  biasInitializer?: InitializerIdentifier;
  /** Applied after the bias; default none (linear). */
  activation?: string | null;
}

export interface Conv2DOptions extends ConvCommonOptions {
  /** Output channels. */
  filters: number;
  /** Default glorot_uniform (Keras); Model Garden passes VarianceScaling / he_normal. */
  kernelInitializer?: InitializerIdentifier;
}

abstract class ConvBase extends Layer {
  readonly kernelSize: number[];
  readonly strides: number[];
  readonly padding: Padding;
  readonly dilationRate: number[];
  readonly useBias: boolean;
  protected readonly biasInitializer: Initializer;
  protected readonly activationFn: ActivationFn;
  protected readonly activationName: string | null;
  protected kernel: tf.Variable | null = null;
  protected bias: tf.Variable | null = null;

  constructor(opts: ConvCommonOptions, rank: number, kerasName: string, className: string) {
    super(opts);
    setKerasDefaultName(this, opts, kerasName);
    const what = `${className} '${this.name}'`;
    this.kernelSize = toTuple(opts.kernelSize, rank, `${what}: kernelSize`);
    this.strides = toTuple(opts.strides ?? 1, rank, `${what}: strides`);
    this.dilationRate = toTuple(opts.dilationRate ?? 1, rank, `${what}: dilationRate`);
    this.padding = checkPadding(opts.padding ?? 'valid', `${what}: padding`);
    checkStridesDilation(what, this.strides, this.dilationRate);
    this.useBias = opts.useBias ?? true;
    this.biasInitializer = getInitializer(opts.biasInitializer ?? 'zeros');
    this.activationName = opts.activation ?? null;
    this.activationFn = getActivation(this.activationName);
  }

  protected describe(): string {
    return `${this.constructor.name} '${this.fullPath()}'`;
  }

  protected checkInput(x: tf.Tensor, minRank: number): number {
    if (x.rank < minRank) {
      throw new Error(
        `${this.describe()}: expected an input of rank >= ${minRank}, got shape [${x.shape}]`,
      );
    }
    return x.shape[x.rank - 1];
  }

  /**
   * Convolves a [batch, ...spatial, channels] tensor of exactly rank `spatial + 2`; `dilated`, when
   * given, computes the dilated case directly (see {@link dilatedConv2d}).
   */
  protected convolve(
    x: tf.Tensor,
    op: (t: tf.Tensor, strides: number[], pad: Padding, dil: number[]) => tf.Tensor,
    dilated?: (t: tf.Tensor) => tf.Tensor,
  ): tf.Tensor {
    checkSpatial(this.describe(), x, this.kernelSize, this.dilationRate, this.padding);
    const ones = this.dilationRate.map(() => 1);
    if (this.dilationRate.every((d) => d === 1)) {
      if (this.padding === 'same' && this.kernelSize.length === 3) {
        // tfjs-core's 3-D SAME padding drops TF's max(0, ·) (get3DPadAndOutInfo), so a stride
        // larger than the kernel reads shifted positions; pad explicitly as TF does.
        const spatial = x.shape.slice(x.rank - 4, x.rank - 1);
        const pads = spatial.map((n, i) => {
          const p = tfPadding(n, this.kernelSize[i], this.strides[i], 1, 'same');
          return [p.before, p.after] as [number, number];
        });
        const full: [number, number][] = [
          ...x.shape.slice(0, x.rank - 4).map(() => [0, 0] as [number, number]),
          ...pads,
          [0, 0],
        ];
        return op(tf.pad(x, full), this.strides, 'valid', ones);
      }
      return op(x, this.strides, this.padding, ones);
    }
    if (dilated && DILATED_BACKPROP_BACKENDS.includes(tf.getBackend())) return dilated(x);
    return atrousConvolution(x, this.kernelSize, this.dilationRate, this.padding, (t) =>
      op(t, ones, 'valid', ones),
    );
  }

  /** The stride-1 dilated 2-D convolution of `x` by `kernel` ({@link dilatedConv2d}). */
  protected dilatedKernel(x: tf.Tensor, kernel: tf.Tensor, depthwise: boolean): tf.Tensor {
    const [dh, dw] = this.dilationRate;
    return dilatedConv2d(
      x as tf.Tensor4D,
      kernel as tf.Tensor4D,
      [dh, dw],
      this.padding,
      depthwise,
    );
  }

  protected finish(y: tf.Tensor): tf.Tensor {
    const withBias = this.bias ? tf.add(y, this.bias) : y;
    return this.activationName ? this.activationFn(withBias) : withBias;
  }
}

/**
 * 2-D convolution (Keras `Conv2D`). Input [batch, h, w, in] (extra leading batch dims allowed, as
 * in Keras); kernel `kernel` [kh, kw, in, filters] (HWIO), bias `bias` [filters].
 */
export class Conv2D extends ConvBase {
  readonly filters: number;
  private readonly kernelInitializer: Initializer;

  constructor(opts: Conv2DOptions) {
    super(opts, 2, 'conv2d', 'Conv2D');
    if (!Number.isInteger(opts.filters) || opts.filters < 1) {
      throw new Error(
        `Conv2D '${this.name}': filters must be a positive integer, got ${opts.filters}`,
      );
    }
    this.filters = opts.filters;
    this.kernelInitializer = getInitializer(opts.kernelInitializer ?? 'glorot_uniform');
  }

  protected override build(x: tf.Tensor): void {
    const inChannels = this.checkInput(x, 4);
    this.kernel = this.addWeight('kernel', [...this.kernelSize, inChannels, this.filters], {
      initializer: this.kernelInitializer,
      regularize: true,
    });
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.filters], { initializer: this.biasInitializer });
    }
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    this.checkInput(x, 4);
    const kernel = this.kernel as tf.Variable;
    return tf.tidy(() => {
      const lead = x.shape.slice(0, x.rank - 3);
      const x4 = x.rank === 4 ? x : tf.reshape(x, [-1, ...x.shape.slice(x.rank - 3)]);
      const y = this.convolve(
        x4,
        (t, s, pad, d) =>
          tf.conv2d(t as tf.Tensor4D, kernel as tf.Tensor4D, [s[0], s[1]], pad, 'NHWC', [
            d[0],
            d[1],
          ]),
        (t) => this.dilatedKernel(t, kernel, false),
      );
      const out = this.finish(y);
      return x.rank === 4 ? out : tf.reshape(out, [...lead, ...out.shape.slice(1)]);
    });
  }
}

export interface DepthwiseConv2DOptions extends ConvCommonOptions {
  /** Output channels per input channel; default 1. */
  depthMultiplier?: number;
  /** Default glorot_uniform (Keras). */
  depthwiseInitializer?: InitializerIdentifier;
}

/**
 * Depthwise 2-D convolution (Keras `DepthwiseConv2D`). Input [batch, h, w, in]; weight
 * `depthwise_kernel` [kh, kw, in, depthMultiplier], bias `bias` [in · depthMultiplier].
 */
export class DepthwiseConv2D extends ConvBase {
  readonly depthMultiplier: number;
  private readonly depthwiseInitializer: Initializer;

  constructor(opts: DepthwiseConv2DOptions) {
    super(opts, 2, 'depthwise_conv2d', 'DepthwiseConv2D');
    const m = opts.depthMultiplier ?? 1;
    if (!Number.isInteger(m) || m < 1) {
      throw new Error(
        `DepthwiseConv2D '${this.name}': depthMultiplier must be a positive integer, got ${m}`,
      );
    }
    this.depthMultiplier = m;
    this.depthwiseInitializer = getInitializer(opts.depthwiseInitializer ?? 'glorot_uniform');
  }

  protected override build(x: tf.Tensor): void {
    if (x.rank !== 4)
      throw new Error(`${this.describe()}: expected a rank-4 NHWC input, got shape [${x.shape}]`);
    const inChannels = (x.shape as number[])[3];
    this.kernel = this.addWeight(
      'depthwise_kernel',
      [...this.kernelSize, inChannels, this.depthMultiplier],
      { initializer: this.depthwiseInitializer, regularize: false },
    );
    if (this.useBias) {
      this.bias = this.addWeight('bias', [inChannels * this.depthMultiplier], {
        initializer: this.biasInitializer,
      });
    }
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    if (x.rank !== 4)
      throw new Error(`${this.describe()}: expected a rank-4 NHWC input, got shape [${x.shape}]`);
    const kernel = this.kernel as tf.Variable;
    return tf.tidy(() =>
      this.finish(
        this.convolve(
          x,
          (t, s, pad, d) =>
            tf.depthwiseConv2d(t as tf.Tensor4D, kernel as tf.Tensor4D, [s[0], s[1]], pad, 'NHWC', [
              d[0],
              d[1],
            ]),
          (t) => this.dilatedKernel(t, kernel, true),
        ),
      ),
    );
  }
}

export interface Conv3DOptions extends ConvCommonOptions {
  /** Output channels. */
  filters: number;
  /**
   * Keras `groups`: input and output channels split into this many groups, each convolved on its
   * own (src/ops/conv3d_grouped.ts); input channels = groups is depthwise. Default 1.
   */
  groups?: number;
  /** Default glorot_uniform (Keras). */
  kernelInitializer?: InitializerIdentifier;
  /**
   * Whether the kernel takes l2 weight decay (Model Garden passes `kernel_regularizer`); default
   * true. False for a conv MG builds without one (nn_blocks_3d.SelfGating).
   */
  kernelRegularize?: boolean;
}

/**
 * 3-D convolution (Keras `Conv3D`). Input [batch, d, h, w, in] (NDHWC); kernel `kernel`
 * [kd, kh, kw, in, filters], bias `bias` [filters].
 */
export class Conv3D extends ConvBase {
  readonly filters: number;
  readonly groups: number;
  private readonly kernelInitializer: Initializer;
  private readonly kernelRegularize: boolean;

  constructor(opts: Conv3DOptions) {
    super(opts, 3, 'conv3d', 'Conv3D');
    this.kernelRegularize = opts.kernelRegularize ?? true;
    if (!Number.isInteger(opts.filters) || opts.filters < 1) {
      throw new Error(
        `Conv3D '${this.name}': filters must be a positive integer, got ${opts.filters}`,
      );
    }
    this.filters = opts.filters;
    this.groups = opts.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups < 1 || this.filters % this.groups !== 0) {
      throw new Error(
        `Conv3D '${this.name}': groups must be a positive integer dividing filters (${this.filters}), got ${opts.groups}`,
      );
    }
    this.kernelInitializer = getInitializer(opts.kernelInitializer ?? 'glorot_uniform');
  }

  protected override build(x: tf.Tensor): void {
    if (x.rank !== 5)
      throw new Error(`${this.describe()}: expected a rank-5 NDHWC input, got shape [${x.shape}]`);
    const inChannels = (x.shape as number[])[4];
    if (inChannels % this.groups !== 0) {
      throw new Error(
        `${this.describe()}: ${inChannels} input channels are not divisible by groups ${this.groups}`,
      );
    }
    this.kernel = this.addWeight(
      'kernel',
      [...this.kernelSize, inChannels / this.groups, this.filters],
      {
        initializer: this.kernelInitializer,
        regularize: this.kernelRegularize,
      },
    );
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.filters], { initializer: this.biasInitializer });
    }
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    if (x.rank !== 5)
      throw new Error(`${this.describe()}: expected a rank-5 NDHWC input, got shape [${x.shape}]`);
    const kernel = this.kernel as tf.Variable;
    return tf.tidy(() =>
      this.finish(
        this.convolve(x, (t, s, pad, d) =>
          conv3dGrouped(
            t as tf.Tensor5D,
            kernel as tf.Tensor5D,
            [s[0], s[1], s[2]],
            pad,
            [d[0], d[1], d[2]],
            this.groups,
          ),
        ),
      ),
    );
  }
}

export interface SeparableConv2DOptions extends ConvCommonOptions {
  /** Output channels of the pointwise convolution. */
  filters: number;
  /** Depthwise channels per input channel; default 1. */
  depthMultiplier?: number;
  /** Default glorot_uniform (Keras). */
  depthwiseInitializer?: InitializerIdentifier;
  /** Default glorot_uniform (Keras). */
  pointwiseInitializer?: InitializerIdentifier;
}

/**
 * Depthwise-separable 2-D convolution (Keras `SeparableConv2D`): a depthwise convolution
 * (`depthwise_kernel` [kh, kw, in, depthMultiplier], strided, dilated) then a 1×1 pointwise one
 * (`pointwise_kernel` [1, 1, in · depthMultiplier, filters]) and the bias `bias` [filters].
 * Model Garden's FPN and RetinaNet head hand it `kernel_initializer` / `kernel_regularizer`,
 * which Keras' SeparableConv2D accepts and ignores (it reads `depthwise_*` / `pointwise_*`): so
 * its kernels keep glorot_uniform and get no l2 weight decay (decoders/fpn.py,
 * heads/dense_prediction_heads.py).
 */
export class SeparableConv2D extends ConvBase {
  readonly filters: number;
  readonly depthMultiplier: number;
  private readonly depthwiseInitializer: Initializer;
  private readonly pointwiseInitializer: Initializer;
  private pointwise: tf.Variable | null = null;

  constructor(opts: SeparableConv2DOptions) {
    super(opts, 2, 'separable_conv2d', 'SeparableConv2D');
    const m = opts.depthMultiplier ?? 1;
    if (!Number.isInteger(opts.filters) || opts.filters < 1) {
      throw new Error(
        `SeparableConv2D '${this.name}': filters must be a positive integer, got ${opts.filters}`,
      );
    }
    if (!Number.isInteger(m) || m < 1) {
      throw new Error(
        `SeparableConv2D '${this.name}': depthMultiplier must be a positive integer, got ${m}`,
      );
    }
    this.filters = opts.filters;
    this.depthMultiplier = m;
    this.depthwiseInitializer = getInitializer(opts.depthwiseInitializer ?? 'glorot_uniform');
    this.pointwiseInitializer = getInitializer(opts.pointwiseInitializer ?? 'glorot_uniform');
  }

  protected override build(x: tf.Tensor): void {
    if (x.rank !== 4)
      throw new Error(`${this.describe()}: expected a rank-4 NHWC input, got shape [${x.shape}]`);
    const inChannels = (x.shape as number[])[3];
    this.kernel = this.addWeight(
      'depthwise_kernel',
      [...this.kernelSize, inChannels, this.depthMultiplier],
      { initializer: this.depthwiseInitializer, regularize: false },
    );
    this.pointwise = this.addWeight(
      'pointwise_kernel',
      [1, 1, inChannels * this.depthMultiplier, this.filters],
      { initializer: this.pointwiseInitializer, regularize: false },
    );
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.filters], { initializer: this.biasInitializer });
    }
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    if (x.rank !== 4)
      throw new Error(`${this.describe()}: expected a rank-4 NHWC input, got shape [${x.shape}]`);
    const depthwise = this.kernel as tf.Variable;
    const pointwise = this.pointwise as tf.Variable;
    return tf.tidy(() => {
      const y = this.convolve(x, (t, s, pad, d) =>
        tf.depthwiseConv2d(t as tf.Tensor4D, depthwise as tf.Tensor4D, [s[0], s[1]], pad, 'NHWC', [
          d[0],
          d[1],
        ]),
      );
      return this.finish(tf.conv2d(y as tf.Tensor4D, pointwise as tf.Tensor4D, 1, 'valid'));
    });
  }
}
