/**
 * Compact ResNet: a small ResNet-style CNN for low-resolution data (28–64 px: Fashion-MNIST, the
 * generated shapes of `demo`). It is vision-garden's own starter backbone, not a Model Garden
 * architecture: a 3×3 stride-1 stem (no max-pool) followed by groups of basic residual blocks
 * (He et al. 2016, the block of Model Garden's `nn_blocks.ResidualBlock`), so 28×28 inputs keep
 * useful resolution. Model Garden's ResNet (7×7/2 stem + max-pool) is the `resnet` backbone.
 *
 * Endpoints are keyed by level = log2(cumulative stride), as Model Garden's backbones key them.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { ConvNormAct } from '../blocks/conv_norm_act.js';
import { ResidualBlock } from '../blocks/residual_block.js';
import type { NormActivationOptions } from '../blocks/conv_norm_act.js';
import type { Backbone, BackboneOutputSpecs } from './contract.js';

/** One block group: [filters, number of blocks, stride of the first block]. */
export type BlockGroupSpec = [filters: number, blocks: number, stride: number];

export interface CompactResNetSpec {
  stemFilters: number;
  groups: BlockGroupSpec[];
}

/** Architectures as data: one row per variant. */
export const COMPACT_RESNET_SPECS: Record<string, CompactResNetSpec> = {
  // ~0.70M parameters: 3 groups of 2 blocks, 32→64→128 filters, output stride 4.
  s: {
    stemFilters: 32,
    groups: [
      [32, 2, 1],
      [64, 2, 2],
      [128, 2, 2],
    ],
  },
  // ~2.79M parameters: wider, for harder low-resolution data.
  m: {
    stemFilters: 64,
    groups: [
      [64, 2, 1],
      [128, 2, 2],
      [256, 2, 2],
    ],
  },
  // 's' widths with one block per group, downsampling in the first group (28×28 → 14×14 → 7×7 →
  // 7×7): about 5× cheaper per step than 's' on 28×28 inputs; the Fashion-MNIST ≥93% config.
  s_ds: {
    stemFilters: 32,
    groups: [
      [32, 1, 2],
      [64, 1, 2],
      [128, 1, 1],
    ],
  },
  // 78,904 parameters with an 8-class head: the demo's tiny model, one block per group.
  xs: {
    stemFilters: 16,
    groups: [
      [16, 1, 1],
      [32, 1, 2],
      [64, 1, 2],
    ],
  },
};

export interface CompactResNetOptions extends NormActivationOptions {
  modelId: string;
  kernelInitializer?: string;
  name?: string;
}

export type Endpoints = Record<string, tf.Tensor>;

export class CompactResNet extends Layer<tf.Tensor, Endpoints> implements Backbone {
  readonly spec: CompactResNetSpec;
  private readonly stem: ConvNormAct;
  private readonly groups: ResidualBlock[][] = [];
  /** Channels of each endpoint, keyed by level. */
  readonly outputSpecs: BackboneOutputSpecs = {};

  constructor(opts: CompactResNetOptions) {
    super({ name: opts.name ?? 'compact_resnet' });
    const spec = COMPACT_RESNET_SPECS[opts.modelId];
    if (!spec) {
      throw new Error(
        `compact_resnet: unknown model_id '${opts.modelId}'; choose one of ${Object.keys(COMPACT_RESNET_SPECS).join(', ')}`,
      );
    }
    this.spec = spec;
    const norm = {
      activation: opts.activation,
      normMomentum: opts.normMomentum,
      normEpsilon: opts.normEpsilon,
    };
    const kernelInitializer = opts.kernelInitializer ?? 'he_normal';
    this.stem = this.add(
      '_stem',
      new ConvNormAct({
        filters: spec.stemFilters,
        kernelSize: 3,
        strides: 1,
        kernelInitializer,
        ...norm,
      }),
    );
    let stride = 1;
    spec.groups.forEach(([filters, blocks, groupStride], g) => {
      stride *= groupStride;
      const group: ResidualBlock[] = [];
      for (let b = 0; b < blocks; b++) {
        group.push(
          this.add(
            `_block_group${g}_block${b}`,
            new ResidualBlock({
              filters,
              strides: b === 0 ? groupStride : 1,
              useProjection: b === 0,
              kernelInitializer,
              ...norm,
            }),
          ),
        );
      }
      this.groups.push(group);
      this.outputSpecs[String(Math.log2(stride))] = { channels: filters, stride };
    });
  }

  protected call(x: tf.Tensor, args: CallArgs): Endpoints {
    let y = this.stem.apply(x, args);
    const endpoints: Endpoints = {};
    let stride = 1;
    this.groups.forEach((group, g) => {
      for (const block of group) y = block.apply(y, args);
      stride *= this.spec.groups[g][2];
      endpoints[String(Math.log2(stride))] = y;
    });
    return endpoints;
  }
}
