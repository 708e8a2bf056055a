/**
 * MoViNet's blocks above the convolution block (official/projects/movinet/modeling/
 * movinet_layers.py): `StreamSqueezeExcitation`, `SkipBlock`, `MovinetBlock` (its
 * `MobileBottleneck`), `Stem`, `Head` and `ClassifierHead`. Attribute and layer names are Model
 * Garden's, so TF checkpoints map by rule.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';
import { Dropout, StochasticDepth } from '../layers/dropout.js';
import { AvgPool3D } from '../layers/pooling.js';
import { makeDivisible } from '../layers/squeeze_excitation.js';
import {
  GlobalAveragePool3D,
  PositionalEncoding,
  Scale,
  spatialAveragePool3d,
  shape5,
  type Streamed,
} from '../layers/stream_layers.js';
import {
  ConvBlock,
  pointwise,
  type ConvType,
  type MovinetConvCommon,
  type SeType,
} from './movinet_conv_block.js';

export {
  CONV_TYPES,
  SE_TYPES,
  ConvBlock,
  type ConvType,
  type SeType,
} from './movinet_conv_block.js';

type Triple = [number, number, number];

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
