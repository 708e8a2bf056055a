/**
 * ResNet and ResNet-RS backbones (Model Garden `modeling/backbones/resnet.py`).
 *
 * Stem: v0 = 7×7/2 conv (64·m filters) + BN + act; v1 (ResNet-D deep stem) = 3×3/2 conv (32·m),
 * 3×3 conv (32·m), 3×3 conv (64·m), each + BN + act. Then a 3×3/2 max pool, or with
 * `replaceStemMaxPool` a 3×3/2 conv (64·depthMultiplier) + BN + act. Then four block groups of
 * {@link RESNET_SPECS}: group i (level i + 2) has stride 1 for i = 0, else 2; its first block
 * projects the shortcut. Endpoints '2'..'5' are the groups' outputs, [batch, H/2^l, W/2^l, C_l].
 *
 * Stochastic depth: group i uses rate init · (i + 2) / 5 for all its blocks
 * (nn_layers.get_stochastic_depth_rate(init, i + 2, 5)).
 *
 * `outputStride` (8, 16 or 32, as Model Garden's dilated ResNet for DeepLab): once the cumulative
 * stride reaches it, later groups use stride 1 and a dilation that doubles per skipped stride.
 *
 * Layers are held under Keras functional-model attribute names (`layer_with_weights-N` in
 * creation order), as a TF2 checkpoint of the Keras model stores them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type Initializer } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { getActivation } from '../layers/activations.js';
import { Conv2D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import { MaxPool2D } from '../layers/pooling.js';
import { getStochasticDepthRate } from '../layers/dropout.js';
import { BottleneckBlock, BOTTLENECK_EXPANSION } from '../blocks/bottleneck_block.js';
import { ResidualBlock } from '../blocks/residual_block.js';
import type { Backbone, BackboneOutputSpecs } from './contract.js';

export type ResNetBlockFn = 'residual' | 'bottleneck';
/** One block group: [block type, filters, repeats]. */
export type ResNetGroupSpec = [blockFn: ResNetBlockFn, filters: number, repeats: number];

/** Model Garden's RESNET_SPECS, keyed by depth (official/vision/modeling/backbones/resnet.py). */
export const RESNET_SPECS: Readonly<Record<number, readonly ResNetGroupSpec[]>> = {
  10: [
    ['residual', 64, 1],
    ['residual', 128, 1],
    ['residual', 256, 1],
    ['residual', 512, 1],
  ],
  18: [
    ['residual', 64, 2],
    ['residual', 128, 2],
    ['residual', 256, 2],
    ['residual', 512, 2],
  ],
  26: [
    ['residual', 64, 3],
    ['residual', 128, 3],
    ['residual', 256, 3],
    ['residual', 512, 3],
  ],
  34: [
    ['residual', 64, 3],
    ['residual', 128, 4],
    ['residual', 256, 6],
    ['residual', 512, 3],
  ],
  50: [
    ['bottleneck', 64, 3],
    ['bottleneck', 128, 4],
    ['bottleneck', 256, 6],
    ['bottleneck', 512, 3],
  ],
  101: [
    ['bottleneck', 64, 3],
    ['bottleneck', 128, 4],
    ['bottleneck', 256, 23],
    ['bottleneck', 512, 3],
  ],
  152: [
    ['bottleneck', 64, 3],
    ['bottleneck', 128, 8],
    ['bottleneck', 256, 36],
    ['bottleneck', 512, 3],
  ],
  200: [
    ['bottleneck', 64, 3],
    ['bottleneck', 128, 24],
    ['bottleneck', 256, 36],
    ['bottleneck', 512, 3],
  ],
  270: [
    ['bottleneck', 64, 4],
    ['bottleneck', 128, 29],
    ['bottleneck', 256, 53],
    ['bottleneck', 512, 4],
  ],
  350: [
    ['bottleneck', 64, 4],
    ['bottleneck', 128, 36],
    ['bottleneck', 256, 72],
    ['bottleneck', 512, 4],
  ],
  420: [
    ['bottleneck', 64, 4],
    ['bottleneck', 128, 44],
    ['bottleneck', 256, 87],
    ['bottleneck', 512, 4],
  ],
};

export const RESNET_STEM_TYPES = ['v0', 'v1'] as const;
export type ResNetStemType = (typeof RESNET_STEM_TYPES)[number];

/** A ResNet stem (MG resnet.py and resnet_deeplab.py build it alike, with their own widths). */
export interface ResNetStemOptions {
  stemType: ResNetStemType;
  /** Filters of the v0 7×7/2 conv, of the three v1 3×3 convs, and of the max pool's replacement. */
  filters: { v0: number; v1: readonly [number, number, number]; pool: number };
  replaceStemMaxPool: boolean;
  kernelInitializer: Initializer;
  normMomentum: number;
  normEpsilon: number;
  bnTrainable?: boolean;
}

/**
 * The stem's layers in call order: conv + BN per stem conv, then a 3×3/2 max pool (`add`ed as
 * `_stem_max_pool`) or a 3×3/2 conv + BN. Weighted layers go through `addWeighted`, so they take
 * the owner's next Keras functional-model numbers.
 */
export function buildResNetStem(
  o: ResNetStemOptions,
  addWeighted: <L extends Layer>(layer: L) => L,
  add: (attr: string, layer: Layer) => Layer,
): Layer[] {
  const stem: Layer[] = [];
  const conv = (filters: number, kernelSize: number, strides: number) => {
    stem.push(
      addWeighted(
        new Conv2D({
          filters,
          kernelSize,
          strides,
          padding: 'same',
          useBias: false,
          kernelInitializer: o.kernelInitializer,
        }),
      ),
    );
    stem.push(
      addWeighted(
        new BatchNormalization({
          momentum: o.normMomentum,
          epsilon: o.normEpsilon,
          trainable: o.bnTrainable ?? true,
        }),
      ),
    );
  };
  if (o.stemType === 'v0') {
    conv(o.filters.v0, 7, 2);
  } else {
    for (const [i, filters] of o.filters.v1.entries()) conv(filters, 3, i === 0 ? 2 : 1);
  }
  if (o.replaceStemMaxPool) {
    conv(o.filters.pool, 3, 2);
  } else {
    stem.push(add('_stem_max_pool', new MaxPool2D({ poolSize: 3, strides: 2, padding: 'same' })));
  }
  return stem;
}

/** Runs a {@link buildResNetStem} stem: each batch norm is followed by `activation`. */
export function applyResNetStem(
  stem: readonly Layer[],
  activation: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  args: CallArgs,
): tf.Tensor {
  let y = x;
  for (const layer of stem) {
    y = layer.apply(y, args) as tf.Tensor;
    if (layer instanceof BatchNormalization) y = activation(y);
  }
  return y;
}

export interface ResNetOptions {
  /** Depth: a key of {@link RESNET_SPECS}. */
  modelId: number;
  /** Scales every layer's channels (ResNet-RS width multiplier); default 1. */
  depthMultiplier?: number;
  /** 'v0' (7×7 stem) or 'v1' (deep 3-conv stem); default 'v0'. */
  stemType?: string;
  resnetdShortcut?: boolean;
  replaceStemMaxPool?: boolean;
  /** SE ratio in (0, 1]; null/0 = none. */
  seRatio?: number | null;
  /** Initial stochastic depth rate (scaled per group); default 0. */
  initStochasticDepthRate?: number;
  /** Whether depthMultiplier also scales the stem; default true. */
  scaleStem?: boolean;
  activation?: string;
  normMomentum?: number;
  normEpsilon?: number;
  /** Default 'VarianceScaling'. */
  kernelInitializer?: string;
  bnTrainable?: boolean;
  /** 8, 16 or 32 (default: 32, no dilation). */
  outputStride?: number | null;
  name?: string;
}

type Block = ResidualBlock | BottleneckBlock;

export class ResNet extends Layer<tf.Tensor, Record<string, tf.Tensor>> implements Backbone {
  readonly modelId: number;
  readonly spec: readonly ResNetGroupSpec[];
  /** Channels and stride of each endpoint, keyed by level '2'..'5'. */
  readonly outputSpecs: BackboneOutputSpecs = {};
  private readonly stem: Layer[];
  private readonly stemActivation: (x: tf.Tensor) => tf.Tensor;
  private readonly groups: Block[][] = [];
  private weightLayerCount = 0;

  constructor(opts: ResNetOptions) {
    super({ name: opts.name });
    const spec = RESNET_SPECS[opts.modelId];
    if (!spec) {
      throw new Error(
        `resnet: unknown model_id ${opts.modelId}; choose one of ${Object.keys(RESNET_SPECS).join(', ')}`,
      );
    }
    const stemType = opts.stemType ?? 'v0';
    if (!(RESNET_STEM_TYPES as readonly string[]).includes(stemType)) {
      throw new Error(`resnet: stem_type '${stemType}' is not supported; use 'v0' or 'v1'`);
    }
    const outputStride = opts.outputStride ?? 32;
    if (![8, 16, 32].includes(outputStride)) {
      throw new Error(`resnet: output_stride must be 8, 16 or 32, got ${outputStride}`);
    }
    this.modelId = opts.modelId;
    this.spec = spec;
    const m = opts.depthMultiplier ?? 1;
    const stemM = (opts.scaleStem ?? true) ? m : 1;
    const initName = opts.kernelInitializer ?? 'VarianceScaling';
    const init = getInitializer(initName);
    const bnTrainable = opts.bnTrainable ?? true;
    const norm = {
      activation: opts.activation ?? 'relu',
      normMomentum: opts.normMomentum ?? 0.99,
      normEpsilon: opts.normEpsilon ?? 0.001,
    };
    this.stemActivation = getActivation(norm.activation);

    this.stem = buildResNetStem(
      {
        stemType: stemType as ResNetStemType,
        filters: {
          v0: Math.trunc(64 * stemM),
          v1: [Math.trunc(32 * stemM), Math.trunc(32 * stemM), Math.trunc(64 * stemM)],
          pool: Math.trunc(64 * m),
        },
        replaceStemMaxPool: opts.replaceStemMaxPool ?? false,
        kernelInitializer: init,
        normMomentum: norm.normMomentum,
        normEpsilon: norm.normEpsilon,
        bnTrainable,
      },
      (layer) => this.addWeighted(layer),
      (attr, layer) => this.add(attr, layer),
    );

    let stride = 4;
    let dilation = 1;
    spec.forEach(([blockFn, baseFilters, repeats], i) => {
      const filters = Math.trunc(baseFilters * m);
      let groupStride = i === 0 ? 1 : 2;
      if (groupStride > 1 && stride * groupStride > outputStride) {
        if (blockFn === 'residual') {
          throw new Error(
            `resnet: output_stride ${outputStride} needs dilated 3×3 convs, which Model Garden's basic residual block (model_id ${opts.modelId}) lacks; use a bottleneck depth (50+)`,
          );
        }
        dilation *= groupStride;
        groupStride = 1;
      }
      stride *= groupStride;
      const rate = getStochasticDepthRate(opts.initStochasticDepthRate ?? 0, i + 2, 5);
      const group: Block[] = [];
      for (let b = 0; b < repeats; b++) {
        const common = {
          filters,
          strides: b === 0 ? groupStride : 1,
          useProjection: b === 0,
          seRatio: opts.seRatio,
          stochasticDepthDropRate: rate,
          kernelInitializer: initName,
          bnTrainable,
          ...norm,
        };
        group.push(
          this.addWeighted(
            blockFn === 'bottleneck'
              ? new BottleneckBlock({
                  ...common,
                  resnetdShortcut: opts.resnetdShortcut ?? false,
                  dilationRate: dilation,
                })
              : new ResidualBlock(common),
          ),
        );
      }
      this.groups.push(group);
      this.outputSpecs[String(i + 2)] = {
        channels: blockFn === 'bottleneck' ? filters * BOTTLENECK_EXPANSION : filters,
        stride,
      };
    });
  }

  /** Registers a weight-holding layer under its Keras functional-model attribute. */
  private addWeighted<L extends Layer>(layer: L): L {
    return this.add(`layer_with_weights-${this.weightLayerCount++}`, layer);
  }

  /** x: [batch, h, w, channels] → endpoints '2'..'5' (intermediates are left to the caller's tf.tidy). */
  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    if (x.rank !== 4) {
      throw new Error(`${this.fullPath()}: expected [batch, h, w, c] input, got [${x.shape}]`);
    }
    let y = applyResNetStem(this.stem, this.stemActivation, x, args);
    const endpoints: Record<string, tf.Tensor> = {};
    this.groups.forEach((group, i) => {
      for (const block of group) y = block.apply(y, args);
      endpoints[String(i + 2)] = y;
    });
    return endpoints;
  }
}
