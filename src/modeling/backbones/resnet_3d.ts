/**
 * ResNet-3D backbone (Model Garden `modeling/backbones/resnet_3d.py` ResNet3D): the backbone of
 * SlowOnly, R3D and R3D-RS (Qian et al. 2021, "Revisiting 3D ResNets for Video Recognition").
 *
 * Input [batch, t, h, w, c]. Stem v0: Conv3D 64 [kt,7,7] stride [st,2,2] + BN + act; v1 (ResNet-D
 * deep stem): Conv3D 32 [kt,3,3] stride [st,2,2], 32 [1,3,3], 64 [1,3,3], each + BN + act (kt, st
 * = stem_conv_temporal_kernel_size / _stride). Then a 'same' max pool [1 if the pool's temporal
 * stride is 1 else 3, 3, 3] with strides [pool temporal stride, 2, 2]. Then four groups of
 * {@link BottleneckBlock3D} from {@link RESNET_3D_SPECS}: group i has spatial stride 1 for i = 0,
 * else 2, the group's temporal stride on its first block, one temporal kernel size per block, and
 * self-gating (when on for the group) on its last block only. Stochastic depth: group i uses
 * init · (i + 2) / 5. Endpoints '2'..'5' are the groups' outputs.
 *
 * Model Garden builds ResNet3D as a Keras functional model (a chain), so a TF checkpoint holds its
 * layers as `layer_with_weights-N` in creation order: stem convs and BNs, then the blocks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { getActivation } from '../layers/activations.js';
import { Conv3D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import { MaxPool3D } from '../layers/pooling.js';
import { getStochasticDepthRate } from '../layers/dropout.js';
import { BOTTLENECK_EXPANSION } from '../blocks/bottleneck_block.js';
import { BottleneckBlock3D } from '../blocks/bottleneck_block_3d.js';
import type { Backbone, BackboneOutputSpecs } from './contract.js';

/** One block group: [filters, repeats] (all of Model Garden's rows use 'bottleneck3d'). */
export type ResNet3DGroupSpec = readonly [filters: number, repeats: number];

/** Model Garden's RESNET_SPECS of resnet_3d.py, keyed by depth. */
export const RESNET_3D_SPECS: Readonly<Record<number, readonly ResNet3DGroupSpec[]>> = {
  50: [
    [64, 3],
    [128, 4],
    [256, 6],
    [512, 3],
  ],
  101: [
    [64, 3],
    [128, 4],
    [256, 23],
    [512, 3],
  ],
  152: [
    [64, 3],
    [128, 8],
    [256, 36],
    [512, 3],
  ],
  200: [
    [64, 3],
    [128, 24],
    [256, 36],
    [512, 3],
  ],
  270: [
    [64, 4],
    [128, 29],
    [256, 53],
    [512, 4],
  ],
  300: [
    [64, 4],
    [128, 36],
    [256, 54],
    [512, 4],
  ],
  350: [
    [64, 4],
    [128, 36],
    [256, 72],
    [512, 4],
  ],
};

export interface ResNet3DOptions {
  /** Depth: a key of {@link RESNET_3D_SPECS}. */
  modelId: number;
  /** Temporal stride of each group's first block (one per group). */
  temporalStrides: readonly number[];
  /** Temporal kernel size of every block, per group (one list per group, one entry per block). */
  temporalKernelSizes: readonly (readonly number[])[];
  /** Self-gating on the last block of each group; default none. */
  useSelfGating?: readonly boolean[] | null;
  /** 'v0' or 'v1'; default 'v0'. */
  stemType?: string;
  /** Default 5. */
  stemConvTemporalKernelSize?: number;
  /** Default 2. */
  stemConvTemporalStride?: number;
  /** Default 2. */
  stemPoolTemporalStride?: number;
  /** Default 0. */
  initStochasticDepthRate?: number;
  /** SE ratio in (0, 1]; null/0 = none. */
  seRatio?: number | null;
  activation?: string;
  normMomentum?: number;
  normEpsilon?: number;
  /** Default 'VarianceScaling'. */
  kernelInitializer?: string;
  /**
   * The filters of the four groups instead of the spec row's (vision-garden's `block_filters`
   * extension; Model Garden has no width knob: its r3d reference case patched RESNET_SPECS).
   */
  blockFilters?: readonly number[] | null;
  name?: string;
}

export class ResNet3D extends Layer<tf.Tensor, Record<string, tf.Tensor>> implements Backbone {
  readonly modelId: number;
  /** Channels and spatial stride of each endpoint '2'..'5'. */
  readonly outputSpecs: BackboneOutputSpecs = {};
  /** Temporal stride of each endpoint '2'..'5' (the contract's stride is the spatial one). */
  readonly temporalStrides: Record<string, number> = {};
  private readonly stem: (Conv3D | BatchNormalization)[] = [];
  private readonly pool: MaxPool3D;
  private readonly groups: BottleneckBlock3D[][] = [];
  private readonly act: (x: tf.Tensor) => tf.Tensor;
  private weightLayerCount = 0;

  constructor(opts: ResNet3DOptions) {
    // Keras' default name of Model Garden's class.
    super({ name: opts.name ?? 'resnet3d' });
    const row = RESNET_3D_SPECS[opts.modelId];
    if (!row) {
      throw new Error(
        `resnet_3d: unknown model_id ${opts.modelId}; choose one of ${Object.keys(RESNET_3D_SPECS).join(', ')}`,
      );
    }
    const n = row.length;
    if (opts.temporalStrides.length !== n || opts.temporalKernelSizes.length !== n) {
      throw new Error(
        `resnet_3d: block_specs must have ${n} entries (one per block group of model_id ${opts.modelId}), got ${opts.temporalStrides.length}`,
      );
    }
    if (opts.useSelfGating && opts.useSelfGating.length !== n) {
      throw new Error(
        `resnet_3d: use_self_gating must have ${n} entries, got ${opts.useSelfGating.length}`,
      );
    }
    if (opts.blockFilters && opts.blockFilters.length !== n) {
      throw new Error(
        `resnet_3d: block_filters must have ${n} entries, got ${opts.blockFilters.length}`,
      );
    }
    const stemType = opts.stemType ?? 'v0';
    if (stemType !== 'v0' && stemType !== 'v1') {
      throw new Error(`resnet_3d: stem_type '${stemType}' is not supported; use 'v0' or 'v1'`);
    }
    this.modelId = opts.modelId;
    const initName = opts.kernelInitializer ?? 'VarianceScaling';
    const init = getInitializer(initName);
    const norm = {
      activation: opts.activation ?? 'relu',
      normMomentum: opts.normMomentum ?? 0.99,
      normEpsilon: opts.normEpsilon ?? 0.001,
    };
    this.act = getActivation(norm.activation);
    const kt = opts.stemConvTemporalKernelSize ?? 5;
    const st = opts.stemConvTemporalStride ?? 2;
    const poolStride = opts.stemPoolTemporalStride ?? 2;

    const stemConv = (filters: number, kernel: number[], strides: number[]) => {
      this.stem.push(
        this.addWeighted(
          new Conv3D({
            filters,
            kernelSize: kernel,
            strides,
            padding: 'same',
            useBias: false,
            kernelInitializer: init,
          }),
        ),
      );
      this.stem.push(
        this.addWeighted(
          new BatchNormalization({ momentum: norm.normMomentum, epsilon: norm.normEpsilon }),
        ),
      );
    };
    if (stemType === 'v0') {
      stemConv(64, [kt, 7, 7], [st, 2, 2]);
    } else {
      stemConv(32, [kt, 3, 3], [st, 2, 2]);
      stemConv(32, [1, 3, 3], [1, 1, 1]);
      stemConv(64, [1, 3, 3], [1, 1, 1]);
    }
    this.pool = this.add(
      '_stem_max_pool',
      new MaxPool3D({
        poolSize: [poolStride === 1 ? 1 : 3, 3, 3],
        strides: [poolStride, 2, 2],
        padding: 'same',
      }),
    );

    let channels = 64;
    let spatial = 4;
    let temporal = st * poolStride;
    row.forEach(([specFilters, repeats], i) => {
      const filters = opts.blockFilters ? opts.blockFilters[i] : specFilters;
      const kernels = opts.temporalKernelSizes[i];
      if (kernels.length !== repeats) {
        throw new Error(
          `resnet_3d: block_specs[${i}].temporal_kernel_sizes has ${kernels.length} entries; model_id ${opts.modelId} has ${repeats} blocks in that group`,
        );
      }
      const spatialStride = i === 0 ? 1 : 2;
      const rate = getStochasticDepthRate(opts.initStochasticDepthRate ?? 0, i + 2, 5);
      const gating = opts.useSelfGating?.[i] ?? false;
      const group: BottleneckBlock3D[] = [];
      for (let b = 0; b < repeats; b++) {
        group.push(
          this.addWeighted(
            new BottleneckBlock3D({
              filters,
              inFilters: channels,
              temporalKernelSize: kernels[b],
              temporalStrides: b === 0 ? opts.temporalStrides[i] : 1,
              spatialStrides: b === 0 ? spatialStride : 1,
              stochasticDepthDropRate: rate,
              seRatio: opts.seRatio,
              useSelfGating: gating && b === repeats - 1,
              kernelInitializer: initName,
              ...norm,
            }),
          ),
        );
        channels = filters * BOTTLENECK_EXPANSION;
      }
      spatial *= spatialStride;
      temporal *= opts.temporalStrides[i];
      this.groups.push(group);
      this.outputSpecs[String(i + 2)] = { channels, stride: spatial };
      this.temporalStrides[String(i + 2)] = temporal;
    });
  }

  /** Registers a weight-holding layer under its Keras functional-model attribute. */
  private addWeighted<L extends Layer>(layer: L): L {
    return this.add(`layer_with_weights-${this.weightLayerCount++}`, layer);
  }

  /** x: [batch, t, h, w, c] → endpoints '2'..'5'. */
  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    if (x.rank !== 5) {
      throw new Error(`${this.fullPath()}: expected [batch, t, h, w, c] input, got [${x.shape}]`);
    }
    let y = x;
    for (const layer of this.stem) {
      y = layer.apply(y, args);
      if (layer instanceof BatchNormalization) y = this.act(y);
    }
    y = this.pool.apply(y, args);
    const endpoints: Record<string, tf.Tensor> = {};
    this.groups.forEach((group, i) => {
      for (const block of group) y = block.apply(y, args);
      endpoints[String(i + 2)] = y;
    });
    return endpoints;
  }
}
