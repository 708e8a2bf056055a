/**
 * MoViNet's building blocks (official/projects/movinet/modeling/movinet_layers.py): `ConvBlock`
 * (with the stream buffer of `StreamConvBlock`), `StreamSqueezeExcitation`, `SkipBlock`,
 * `MovinetBlock` (its `MobileBottleneck`), `Stem`, `Head` and `ClassifierHead`. Attribute and
 * layer names are Model Garden's, so TF checkpoints map by rule.
 *
 * Convolution types: '3d' (one Conv3D), '3d_2plus1d' (a (1, k, k) Conv3D, then a (kt, 1, 1)
 * Conv3D, each with its own batch norm and activation), '2plus1d' (the same split as Conv2D /
 * DepthwiseConv2D on frames reshaped to 4-D, `MobileConv2D`). Causal convolutions pad all
 * kt − 1 frames in front (or take them from the stream buffer); spatial padding is TF's SAME.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D, Conv3D, DepthwiseConv2D, tfPadding } from '../layers/conv.js';
import { Dropout, StochasticDepth } from '../layers/dropout.js';
import { BatchNormalization } from '../layers/normalization.js';
import { AvgPool3D } from '../layers/pooling.js';
import { makeDivisible } from '../layers/squeeze_excitation.js';
import {
  GlobalAveragePool3D,
  PositionalEncoding,
  Scale,
  spatialAveragePool3d,
  streamBuffer,
  shape5,
  type Streamed,
} from '../layers/stream_layers.js';

export const CONV_TYPES = ['3d', '2plus1d', '3d_2plus1d'] as const;
export type ConvType = (typeof CONV_TYPES)[number];
export const SE_TYPES = ['3d', '2d', '2plus3d', 'none'] as const;
export type SeType = (typeof SE_TYPES)[number];

type Triple = [number, number, number];

/** Options shared by MoViNet's convolution blocks (MG argument names in camelCase). */
export interface MovinetConvCommon {
  convType: ConvType;
  kernelInitializer: string;
  normMomentum: number;
  normEpsilon: number;
}

export interface ConvBlockOptions extends MovinetConvCommon, LayerOptions {
  filters: number;
  kernelSize: Triple;
  strides?: Triple;
  depthwise?: boolean;
  causal?: boolean;
  useBias?: boolean;
  useBatchNorm?: boolean;
  activation?: string | null;
  /** Serialised initializer for the kernels; overrides `kernelInitializer`. */
  kernelInitializerConfig?: { class_name: string; config: Record<string, unknown> };
  /** Set for a `StreamConvBlock`: its buffer state is `<statePrefix>_stream_buffer`. */
  statePrefix?: string;
}

/** [before, after] of TF SAME padding for each of `sizes` (kernel k, stride s). */
function samePads(sizes: number[], kernel: number[], strides: number[]): [number, number][] {
  return sizes.map((n, i) => {
    const p = tfPadding(n, kernel[i], strides[i], 1, 'same');
    return [p.before, p.after];
  });
}

/**
 * Conv2D on video frames (MG `MobileConv2D`): [B, T, H, W, C] is reshaped to [B·T, H, W, C]
 * (spatial) or [B, T, H·W, C] (temporal, kernel (kt, 1)), convolved and reshaped back.
 */
class MobileConv2D extends Layer {
  private readonly temporal: boolean;
  private readonly kernel: [number, number];
  private readonly strides: [number, number];
  private readonly causal: boolean;

  constructor(
    opts: LayerOptions & {
      filters: number;
      kernelSize: [number, number];
      strides: [number, number];
      depthwise: boolean;
      useBias: boolean;
      temporal: boolean;
      causal: boolean;
      kernelInitializer: string | ConvBlockOptions['kernelInitializerConfig'];
    },
  ) {
    super(opts);
    this.temporal = opts.temporal;
    this.kernel = opts.kernelSize;
    this.strides = opts.strides;
    this.causal = opts.causal;
    const common = { kernelSize: opts.kernelSize, strides: opts.strides, useBias: opts.useBias };
    this.add(
      '_conv',
      opts.depthwise
        ? new DepthwiseConv2D({ ...common, depthwiseInitializer: opts.kernelInitializer })
        : new Conv2D({
            ...common,
            filters: opts.filters,
            kernelInitializer: opts.kernelInitializer,
          }),
    );
  }

  /** `x` [B, T, H, W, C]; `buffered`: time already holds the kt − 1 causal frames. */
  run(x: tf.Tensor, args: CallArgs, buffered: boolean): tf.Tensor {
    const [b, t, h, w, c] = shape5(x, `MobileConv2D '${this.fullPath()}'`);
    const x4 = this.temporal ? tf.reshape(x, [b, t, h * w, c]) : tf.reshape(x, [b * t, h, w, c]);
    const pads = samePads(x4.shape.slice(1, 3), this.kernel, this.strides);
    if (this.temporal && this.causal) pads[0] = buffered ? [0, 0] : [this.kernel[0] - 1, 0];
    const padded = tf.pad(x4, [[0, 0], ...pads, [0, 0]]);
    const y = this.child('_conv').apply(padded, args) as tf.Tensor;
    const [n, yh, yw, yc] = y.shape as [number, number, number, number];
    return this.temporal ? tf.reshape(y, [b, yh, h, w, yc]) : tf.reshape(y, [b, n / b, yh, yw, yc]);
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    return this.run(x, args, false);
  }
}

/**
 * Conv → BN → activation, split in (2+1)D per `convType` (MG `ConvBlock`); with `statePrefix`,
 * MG's `StreamConvBlock`: a causal block with kt > 1 keeps the last kt − 1 frames of its temporal
 * convolution's input as state (before the whole 3-D conv, or before the temporal one only).
 */
export class ConvBlock extends Layer<Streamed, Streamed> {
  readonly filters: number;
  readonly kernelSize: Triple;
  readonly strides: Triple;
  readonly convType: ConvType;
  private readonly opts: ConvBlockOptions;
  private readonly act: ActivationFn | null;
  private readonly bufferName: string | null;
  private split = false;

  constructor(opts: ConvBlockOptions) {
    super(opts);
    this.opts = opts;
    this.filters = opts.filters;
    this.kernelSize = opts.kernelSize;
    this.strides = opts.strides ?? [1, 1, 1];
    this.convType = opts.convType;
    this.act = opts.activation ? getActivation(opts.activation) : null;
    const useBuffer =
      opts.statePrefix !== undefined && opts.causal === true && this.kernelSize[0] > 1;
    this.bufferName = useBuffer ? `${opts.statePrefix}_stream_buffer` : null;
  }

  protected override build(input: Streamed): void {
    const o = this.opts;
    const [kt, kh, kw] = this.kernelSize;
    const [st, sh, sw] = this.strides;
    const groups = o.depthwise ? shape5(input.x, `ConvBlock '${this.fullPath()}'`)[4] : 1;
    const init = o.kernelInitializerConfig ?? o.kernelInitializer;
    const useBias = o.useBias ?? false;
    const causal = o.causal ?? false;
    const bn = (name: string) =>
      new BatchNormalization({ name, momentum: o.normMomentum, epsilon: o.normEpsilon });
    if (o.useBatchNorm ?? true) {
      this.add('_batch_norm', bn('bn'));
      if (this.convType !== '3d' && kt > 1) this.add('_batch_norm_temporal', bn('bn_temporal'));
    }
    const conv3d = (name: string, kernel: Triple, strides: Triple) =>
      new Conv3D({
        name,
        filters: this.filters,
        kernelSize: kernel,
        strides,
        padding: 'valid',
        groups,
        useBias,
        kernelInitializer: init,
      });
    if (this.convType === '2plus1d') {
      const mobile = (
        name: string,
        kernel: [number, number],
        strides: [number, number],
        temporal: boolean,
      ) =>
        new MobileConv2D({
          name,
          filters: this.filters,
          kernelSize: kernel,
          strides,
          depthwise: o.depthwise ?? false,
          useBias,
          temporal,
          causal: temporal && causal,
          kernelInitializer: init,
        });
      this.add('_conv', mobile('conv2d', [kh, kw], [sh, sw], false));
      if (kt > 1) this.add('_conv_temporal', mobile('conv2d_temporal', [kt, 1], [st, 1], true));
      this.split = kt > 1;
    } else if (this.convType === '3d_2plus1d' && kt > 1) {
      this.add('_conv', conv3d('conv3d', [1, kh, kw], [1, sh, sw]));
      this.add('_conv_temporal', conv3d('conv3d_temporal', [kt, 1, 1], [st, 1, 1]));
      this.split = true;
    } else {
      this.add('_conv', conv3d('conv3d', this.kernelSize, this.strides));
    }
  }

  /** Pads [B, T, H, W, C] for a 'valid' Conv3D of `kernel`: causal time (unless buffered), SAME. */
  private pad3d(x: tf.Tensor, kernel: Triple, strides: Triple, buffered: boolean): tf.Tensor {
    const pads = samePads(x.shape.slice(1, 4), kernel, strides);
    if (this.opts.causal) pads[0] = buffered ? [0, 0] : [kernel[0] - 1, 0];
    return tf.pad(x, [[0, 0], ...pads, [0, 0]]);
  }

  private conv(attr: string, x: tf.Tensor, args: CallArgs, buffered: boolean): tf.Tensor {
    const layer = this.child(attr);
    if (layer instanceof MobileConv2D) return layer.run(x, args, buffered);
    const c = layer as Conv3D;
    return c.apply(this.pad3d(x, c.kernelSize as Triple, c.strides as Triple, buffered), args);
  }

  private normAct(attr: string, x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = this.layers().some((l) => l.attr === attr)
      ? (this.child(attr) as BatchNormalization).apply(x, args)
      : x;
    return this.act ? this.act(y) : y;
  }

  protected call(input: Streamed, args: CallArgs): Streamed {
    let { x, states } = input;
    const buffer = this.bufferName;
    if (!this.split && buffer) {
      ({ x, states } = streamBuffer(x, states, buffer, this.kernelSize[0] - 1));
    }
    x = this.normAct('_batch_norm', this.conv('_conv', x, args, buffer !== null), args);
    if (this.split) {
      if (buffer) ({ x, states } = streamBuffer(x, states, buffer, this.kernelSize[0] - 1));
      x = this.normAct(
        '_batch_norm_temporal',
        this.conv('_conv_temporal', x, args, buffer !== null),
        args,
      );
    }
    return { x, states };
  }
}

/** A ConvBlock on a plain tensor (no state): pointwise convolutions. */
function pointwise(block: ConvBlock, x: tf.Tensor, args: CallArgs): tf.Tensor {
  return block.apply({ x, states: {} }, args).x;
}

export interface SqueezeExcitationOptions extends MovinetConvCommon, LayerOptions {
  hiddenFilters: number;
  seType: Exclude<SeType, 'none'>;
  activation: string;
  gatingActivation: string;
  causal: boolean;
  usePositionalEncoding: boolean;
  statePrefix: string;
}

/**
 * Squeeze-excitation with causal pooling (MG `StreamSqueezeExcitation`): '3d' pools over
 * space and time (cumulatively when causal), '2d' over space per frame, '2plus3d' concatenates
 * both; optional positional encoding; then a reduce (activation) and expand (gating) 1×1×1
 * convolution with biases scale the input.
 */
export class StreamSqueezeExcitation extends Layer<Streamed, Streamed> {
  private readonly opts: SqueezeExcitationOptions;

  constructor(opts: SqueezeExcitationOptions) {
    super(opts);
    this.opts = opts;
    this.add(
      '_spatiotemporal_pool',
      new GlobalAveragePool3D({ causal: opts.causal, statePrefix: opts.statePrefix }),
    );
    if (opts.usePositionalEncoding) {
      this.add(
        '_pos_encoding',
        new PositionalEncoding({ name: 'positional_encoding', statePrefix: opts.statePrefix }),
      );
    }
  }

  protected override build(input: Streamed): void {
    const o = this.opts;
    const common = {
      kernelSize: [1, 1, 1] as Triple,
      causal: o.causal,
      useBias: true,
      useBatchNorm: false,
      convType: o.convType,
      kernelInitializer: o.kernelInitializer,
      normMomentum: o.normMomentum,
      normEpsilon: o.normEpsilon,
    };
    this.add(
      '_se_reduce',
      new ConvBlock({
        ...common,
        name: 'se_reduce',
        filters: o.hiddenFilters,
        activation: o.activation,
      }),
    );
    this.add(
      '_se_expand',
      new ConvBlock({
        ...common,
        name: 'se_expand',
        filters: shape5(input.x, `SE '${this.fullPath()}'`)[4],
        activation: o.gatingActivation,
      }),
    );
  }

  protected call(input: Streamed, args: CallArgs): Streamed {
    const inputs = input.x;
    let states = input.states;
    const pool = this.child('_spatiotemporal_pool') as GlobalAveragePool3D;
    let x: tf.Tensor;
    if (this.opts.seType === '3d') {
      ({ x, states } = pool.apply({ x: inputs, states }, args));
    } else if (this.opts.seType === '2d') {
      x = spatialAveragePool3d(inputs);
    } else {
      const space = spatialAveragePool3d(inputs);
      ({ x, states } = pool.apply({ x: space, states }, args));
      if (!this.opts.causal) x = tf.tile(x, [1, shape5(inputs, 'SE')[1], 1, 1, 1]);
      x = tf.concat([x, space], 4);
    }
    if (this.opts.usePositionalEncoding) {
      ({ x, states } = (this.child('_pos_encoding') as PositionalEncoding).apply(
        { x, states },
        args,
      ));
    }
    x = pointwise(this.child('_se_reduce') as ConvBlock, x, args);
    x = pointwise(this.child('_se_expand') as ConvBlock, x, args);
    return { x: tf.mul(x, inputs), states };
  }
}

/** The residual branch's input projection (MG `SkipBlock`): (1,3,3)/(1,2,2) average pool, 1×1×1 conv + BN. */
export class SkipBlock extends Layer {
  private readonly downsample: boolean;

  constructor(
    opts: MovinetConvCommon & LayerOptions & { outFilters: number; downsample: boolean },
  ) {
    super(opts);
    this.downsample = opts.downsample;
    this.add(
      '_projection',
      new ConvBlock({
        name: 'skip_project',
        filters: opts.outFilters,
        kernelSize: [1, 1, 1],
        convType: opts.convType,
        kernelInitializer: opts.kernelInitializer,
        normMomentum: opts.normMomentum,
        normEpsilon: opts.normEpsilon,
      }),
    );
    // The 2plus1d variant pools frames as 2-D images: the same numbers.
    if (opts.downsample) {
      this.add(
        '_pool',
        new AvgPool3D({
          name: 'skip_pool',
          poolSize: [1, 3, 3],
          strides: [1, 2, 2],
          padding: 'same',
        }),
      );
    }
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const pooled = this.downsample ? (this.child('_pool') as AvgPool3D).apply(x, args) : x;
    return pointwise(this.child('_projection') as ConvBlock, pooled, args);
  }
}

export interface MovinetBlockOptions extends MovinetConvCommon, LayerOptions {
  outFilters: number;
  expandFilters: number;
  kernelSize: Triple;
  strides: Triple;
  causal: boolean;
  activation: string;
  gatingActivation: string;
  seRatio?: number;
  stochasticDepthDropRate: number;
  seType: SeType;
  usePositionalEncoding: boolean;
  statePrefix: string;
}

/**
 * One MoViNet layer (MG `MovinetBlock` → `MobileBottleneck`, named 'bneck'): 1×1×1 expansion,
 * depthwise (stream) convolution, squeeze-excitation, 1×1×1 projection, a ReZero scalar
 * (initially 0), stochastic depth, plus the (projected) input.
 */
export class MovinetBlock extends Layer<Streamed, Streamed> {
  private readonly opts: MovinetBlockOptions;

  constructor(opts: MovinetBlockOptions) {
    super(opts);
    this.opts = opts;
  }

  protected override build(input: Streamed): void {
    const o = this.opts;
    const common = {
      convType: o.convType,
      kernelInitializer: o.kernelInitializer,
      normMomentum: o.normMomentum,
      normEpsilon: o.normEpsilon,
    };
    const bneck = this.add('_mobile_bottleneck', new MobileBottleneck({ name: 'bneck' }));
    bneck.addPart(
      '_expansion_layer',
      new ConvBlock({
        ...common,
        name: 'expansion',
        filters: o.expandFilters,
        kernelSize: [1, 1, 1],
        activation: o.activation,
      }),
    );
    bneck.addPart(
      '_feature_layer',
      new ConvBlock({
        ...common,
        name: 'feature',
        filters: o.expandFilters,
        kernelSize: o.kernelSize,
        strides: o.strides,
        depthwise: true,
        causal: o.causal,
        activation: o.activation,
        statePrefix: o.statePrefix,
      }),
    );
    if (o.seType !== 'none') {
      // Twice the pooled features when 2-D and 3-D pools are concatenated.
      const multiplier = o.seType === '2plus3d' ? 2 : 1;
      bneck.addPart(
        '_attention_layer',
        new StreamSqueezeExcitation({
          ...common,
          name: 'se',
          hiddenFilters: makeDivisible((o.seRatio ?? 0.25) * o.expandFilters * multiplier, 8),
          seType: o.seType,
          activation: o.activation,
          gatingActivation: o.gatingActivation,
          causal: o.causal,
          usePositionalEncoding: o.usePositionalEncoding,
          statePrefix: o.statePrefix,
        }),
      );
    }
    bneck.addPart(
      '_projection_layer',
      new ConvBlock({
        ...common,
        name: 'projection',
        filters: o.outFilters,
        kernelSize: [1, 1, 1],
      }),
    );
    const downsample = o.strides.some((s) => s > 1);
    if (shape5(input.x, `MovinetBlock '${this.fullPath()}'`)[4] !== o.outFilters || downsample) {
      bneck.addPart(
        '_skip_layer',
        new SkipBlock({ ...common, name: 'skip', outFilters: o.outFilters, downsample }),
      );
    }
    bneck.addPart('_rezero', new Scale({ name: 'rezero', initializer: 'zeros' }));
    if (o.stochasticDepthDropRate) {
      bneck.addPart(
        '_stochastic_depth',
        new StochasticDepth({ name: 'stochastic_depth', dropRate: o.stochasticDepthDropRate }),
      );
    }
  }

  protected call(input: Streamed, args: CallArgs): Streamed {
    return (this.child('_mobile_bottleneck') as MobileBottleneck).apply(input, args);
  }
}

/** MG `MobileBottleneck`: the parts of a {@link MovinetBlock}, in its attribute names. */
class MobileBottleneck extends Layer<Streamed, Streamed> {
  addPart(attr: string, layer: Layer<unknown, unknown>): void {
    this.add(attr, layer);
  }

  private has(attr: string): boolean {
    return this.layers().some((l) => l.attr === attr);
  }

  protected call(input: Streamed, args: CallArgs): Streamed {
    const inputs = input.x;
    let states = input.states;
    let x = pointwise(this.child('_expansion_layer') as ConvBlock, inputs, args);
    ({ x, states } = (this.child('_feature_layer') as ConvBlock).apply({ x, states }, args));
    if (this.has('_attention_layer')) {
      ({ x, states } = (this.child('_attention_layer') as StreamSqueezeExcitation).apply(
        { x, states },
        args,
      ));
    }
    x = pointwise(this.child('_projection_layer') as ConvBlock, x, args);
    x = (this.child('_rezero') as Scale).apply(x, args);
    if (this.has('_stochastic_depth'))
      x = (this.child('_stochastic_depth') as StochasticDepth).apply(x, args);
    const skip = this.has('_skip_layer')
      ? (this.child('_skip_layer') as SkipBlock).apply(inputs, args)
      : inputs;
    return { x: tf.add(x, skip), states };
  }
}

/** MG `Stem`: one (stream) ConvBlock with batch norm and activation. */
export class Stem extends Layer<Streamed, Streamed> {
  constructor(
    opts: MovinetConvCommon &
      LayerOptions & {
        filters: number;
        kernelSize: Triple;
        strides: Triple;
        causal: boolean;
        activation: string;
      },
  ) {
    super({ name: opts.name ?? 'stem' });
    this.add(
      '_stem',
      new ConvBlock({
        name: 'stem',
        filters: opts.filters,
        kernelSize: opts.kernelSize,
        strides: opts.strides,
        causal: opts.causal,
        activation: opts.activation,
        convType: opts.convType,
        kernelInitializer: opts.kernelInitializer,
        normMomentum: opts.normMomentum,
        normEpsilon: opts.normEpsilon,
        statePrefix: 'state_stem',
      }),
    );
  }

  protected call(input: Streamed, args: CallArgs): Streamed {
    return (this.child('_stem') as ConvBlock).apply(input, args);
  }
}

export const AVERAGE_POOLING_TYPES = ['3d', '2d', 'none'] as const;
export type AveragePoolingType = (typeof AVERAGE_POOLING_TYPES)[number];

/** MG `Head`: 1×1×1 projection (BN, activation), then the (streamed) global average pool. */
export class Head extends Layer<Streamed, Streamed> {
  private readonly pooling: AveragePoolingType;

  constructor(
    opts: MovinetConvCommon &
      LayerOptions & {
        projectFilters: number;
        activation: string;
        averagePoolingType: AveragePoolingType;
      },
  ) {
    super({ name: opts.name ?? 'head' });
    this.pooling = opts.averagePoolingType;
    this.add(
      '_project',
      new ConvBlock({
        name: 'project',
        filters: opts.projectFilters,
        kernelSize: [1, 1, 1],
        activation: opts.activation,
        convType: opts.convType,
        kernelInitializer: opts.kernelInitializer,
        normMomentum: opts.normMomentum,
        normEpsilon: opts.normEpsilon,
      }),
    );
    if (this.pooling === '3d') {
      this.add('_pool', new GlobalAveragePool3D({ causal: false, statePrefix: 'state_head' }));
    }
  }

  protected call(input: Streamed, args: CallArgs): Streamed {
    const x = pointwise(this.child('_project') as ConvBlock, input.x, args);
    if (this.pooling === '3d') {
      return (this.child('_pool') as GlobalAveragePool3D).apply({ x, states: input.states }, args);
    }
    return { x: this.pooling === '2d' ? spatialAveragePool3d(x) : x, states: input.states };
  }
}

/**
 * MG `ClassifierHead`: on the pooled [B, 1, 1, 1, C], a 1×1×1 convolution with bias and
 * activation to `headFilters`, dropout, a 1×1×1 classifier (bias, N(0, 0.01) kernel), squeezed to
 * [B, classes].
 */
export class ClassifierHead extends Layer {
  constructor(
    opts: LayerOptions & {
      headFilters: number;
      numClasses: number;
      dropoutRate: number;
      convType: ConvType;
      activation: string;
      kernelInitializer: string;
    },
  ) {
    super({ name: opts.name ?? 'classifier_head' });
    const common = {
      kernelSize: [1, 1, 1] as Triple,
      useBias: true,
      useBatchNorm: false,
      convType: opts.convType,
      kernelInitializer: opts.kernelInitializer,
      normMomentum: 0.99,
      normEpsilon: 1e-3,
    };
    this.add('_dropout', new Dropout({ rate: opts.dropoutRate }));
    this.add(
      '_head',
      new ConvBlock({
        ...common,
        name: 'head',
        filters: opts.headFilters,
        activation: opts.activation,
      }),
    );
    this.add(
      '_classifier',
      new ConvBlock({
        ...common,
        name: 'classifier',
        filters: opts.numClasses,
        kernelInitializerConfig: { class_name: 'RandomNormal', config: { stddev: 0.01 } },
      }),
    );
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    if (x.shape[1] !== 1 || x.shape[2] !== 1 || x.shape[3] !== 1) {
      throw new Error(
        `ClassifierHead '${this.fullPath()}': expects pooled features [B, 1, 1, 1, C], got [${x.shape}] (backbone average_pooling_type must be '3d')`,
      );
    }
    let y = pointwise(this.child('_head') as ConvBlock, x, args);
    y = (this.child('_dropout') as Dropout).apply(y, args);
    y = pointwise(this.child('_classifier') as ConvBlock, y, args);
    const [b, , , , c] = shape5(y, `ClassifierHead '${this.fullPath()}'`);
    return tf.reshape(y, [b, c]);
  }
}
