/**
 * SpineNet (Du et al., "SpineNet: Learning Scale-Permuted Backbone for Recognition and
 * Localization", arXiv:1912.05027), as Model Garden's `modeling/backbones/spinenet.py`.
 *
 * Stem: 7×7/2 conv (64) + BN + act, 3×3/2 max pool, then two level-2 bottleneck groups. Then the
 * scale-permuted blocks of {@link SPINENET_BLOCK_SPECS}: each resamples its two parents to its
 * level (1×1 conv to alpha·filters, a 3×3/2 conv then 3×3/2 max pools down, or nearest upsampling
 * up, then a 1×1 conv to the block's width), sums them (an output block also takes every earlier
 * block of its size and width that nothing consumed yet), applies the activation and its block
 * group; block i (1-based) uses stochastic depth rate init · i / 16. Endpoints `min_level`..
 * `max_level`: a 1×1 conv to `endpoints_num_filters` + BN + act on that level's output block.
 *
 * The structure follows MG with an unknown input width (planned on a 2^7 grid), which equals MG's
 * for inputs whose height and width are multiples of 128. Layers are held as the Keras functional
 * model's `layer_with_weights-N` (see ./functional_graph.ts), with Keras default names.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getInitializer } from '../../core/initializers.js';
import { getActivation } from '../layers/activations.js';
import { BottleneckBlock, BOTTLENECK_EXPANSION } from '../blocks/bottleneck_block.js';
import { ResidualBlock } from '../blocks/residual_block.js';
import { KerasNames, type NodeId } from './functional_graph.js';
import {
  buildScalePermuted,
  checkSpineNetLevels,
  ScalePermutedBackbone,
  scalingRow,
  spineNetNodes,
  type NetBlock,
  type ScalePermutedBlockSpec,
} from './spinenet_common.js';

/** Base channels per level (Model Garden FILTER_SIZE_MAP). */
export const SPINENET_FILTER_SIZE_MAP: Readonly<Record<number, number>> = {
  1: 32,
  2: 64,
  3: 128,
  4: 256,
  5: 256,
  6: 256,
  7: 256,
};

export type SpineNetBlockFn = 'bottleneck' | 'residual';
/** [level, block fn, [input offset 0, input offset 1], is output]. */
export type SpineNetBlockSpec = ScalePermutedBlockSpec<SpineNetBlockFn>;

/** The NAS-found scale permutation (Model Garden SPINENET_BLOCK_SPECS). */
export const SPINENET_BLOCK_SPECS: readonly SpineNetBlockSpec[] = [
  [2, 'bottleneck', [0, 1], false],
  [4, 'residual', [0, 1], false],
  [3, 'bottleneck', [2, 3], false],
  [4, 'bottleneck', [2, 4], false],
  [6, 'residual', [3, 5], false],
  [4, 'bottleneck', [3, 5], false],
  [5, 'residual', [6, 7], false],
  [7, 'residual', [6, 8], false],
  [5, 'bottleneck', [8, 9], false],
  [5, 'bottleneck', [8, 10], false],
  [4, 'bottleneck', [5, 10], true],
  [3, 'bottleneck', [4, 10], true],
  [5, 'bottleneck', [7, 12], true],
  [7, 'bottleneck', [5, 14], true],
  [6, 'bottleneck', [12, 14], true],
  [2, 'bottleneck', [2, 13], true],
];

export interface SpineNetScaling {
  endpointsNumFilters: number;
  filterSizeScale: number;
  resampleAlpha: number;
  blockRepeats: number;
}

/** Width/depth per model id (Model Garden SCALING_MAP). */
export const SPINENET_SCALING_MAP: Readonly<Record<string, SpineNetScaling>> = {
  '49S': { endpointsNumFilters: 128, filterSizeScale: 0.65, resampleAlpha: 0.5, blockRepeats: 1 },
  '49': { endpointsNumFilters: 256, filterSizeScale: 1.0, resampleAlpha: 0.5, blockRepeats: 1 },
  '96': { endpointsNumFilters: 256, filterSizeScale: 1.0, resampleAlpha: 0.5, blockRepeats: 2 },
  '143': { endpointsNumFilters: 256, filterSizeScale: 1.0, resampleAlpha: 1.0, blockRepeats: 3 },
  '143L': { endpointsNumFilters: 256, filterSizeScale: 1.3, resampleAlpha: 1.0, blockRepeats: 3 },
  '190': { endpointsNumFilters: 512, filterSizeScale: 1.3, resampleAlpha: 1.0, blockRepeats: 4 },
};

/** The activations Model Garden's SpineNet accepts. */
const SPINENET_ACTIVATIONS = ['relu', 'swish'];

export interface SpineNetOptions extends SpineNetScaling {
  minLevel?: number;
  maxLevel?: number;
  blockSpecs?: readonly SpineNetBlockSpec[];
  initStochasticDepthRate?: number;
  /** 'relu' (default) or 'swish'. */
  activation?: string;
  normMomentum?: number;
  normEpsilon?: number;
  /** Default 'VarianceScaling'. */
  kernelInitializer?: string;
  name?: string;
}

/** The options of a SCALING_MAP row, or a clear error for an unknown id. */
export function spineNetScaling(modelId: string): SpineNetScaling {
  return scalingRow('spinenet', SPINENET_SCALING_MAP, modelId);
}

export class SpineNet extends ScalePermutedBackbone {
  constructor(opts: SpineNetOptions) {
    super({ name: opts.name ?? 'spine_net' });
    const specs = opts.blockSpecs ?? SPINENET_BLOCK_SPECS;
    const minLevel = opts.minLevel ?? 3;
    const maxLevel = opts.maxLevel ?? 7;
    checkSpineNetLevels(
      'spinenet',
      minLevel,
      maxLevel,
      specs.filter((s) => s[3]).map((s) => s[0]),
    );
    const activation = opts.activation ?? 'relu';
    if (!SPINENET_ACTIVATIONS.includes(activation)) {
      throw new Error(
        `spinenet: activation '${activation}' is not implemented (Model Garden's SpineNet takes relu or swish)`,
      );
    }
    if (!(opts.filterSizeScale > 0)) {
      throw new Error(`spinenet: filter_size_scale must be > 0, got ${opts.filterSizeScale}`);
    }
    const act = getActivation(activation);
    const initName = opts.kernelInitializer ?? 'VarianceScaling';
    const norm = { momentum: opts.normMomentum ?? 0.99, epsilon: opts.normEpsilon ?? 0.001 };
    const names = new KerasNames();
    const g = this.graph;
    const nodes = spineNetNodes(g, names, getInitializer(initName), norm, act);
    const { conv, bn, activate } = nodes;
    const maxPool = (x: NodeId): NodeId =>
      g.op([x], ([t]) => tf.maxPool(t as tf.Tensor4D, 3, 2, 'same'));
    const channels = new Map<NodeId, number>();
    const blockChannels = (filters: number, blockFn: SpineNetBlockFn) =>
      blockFn === 'bottleneck' ? filters * BOTTLENECK_EXPANSION : filters;

    // MG `_block_group`: the first block projects unless shape is kept; repeats chain; tf.identity.
    const blockGroup = (
      x: NodeId,
      filters: number,
      blockFn: SpineNetBlockFn,
      dropRate: number | null,
    ): NodeId => {
      const outChannels = blockChannels(filters, blockFn);
      let y = x;
      for (let r = 0; r < opts.blockRepeats; r++) {
        const common = {
          filters,
          strides: 1,
          useProjection: r === 0 && channels.get(x) !== outChannels,
          stochasticDepthDropRate: dropRate,
          kernelInitializer: initName,
          activation,
          normMomentum: norm.momentum,
          normEpsilon: norm.epsilon,
        };
        y = g.layer(
          blockFn === 'bottleneck'
            ? new BottleneckBlock({ ...common, name: names.next('bottleneck_block') })
            : new ResidualBlock({ ...common, name: names.next('residual_block') }),
          y,
        );
      }
      const out = g.op([y], ([t]) => t);
      channels.set(out, outChannels);
      return out;
    };

    // Stem.
    const input = g.input();
    let x = maxPool(activate(bn(conv(input, 64, 7, 2))));
    channels.set(x, 64);
    const net: NetBlock[] = [];
    const level2Filters = Math.trunc(SPINENET_FILTER_SIZE_MAP[2] * opts.filterSizeScale);
    for (let i = 0; i < 2; i++) {
      x = blockGroup(x, level2Filters, 'bottleneck', null);
      net.push({ node: x, level: 2, blockFn: 'bottleneck', width: channels.get(x) as number });
    }

    const levelOutputs = buildScalePermuted(net, specs, {
      what: 'spinenet',
      filterSizeMap: SPINENET_FILTER_SIZE_MAP,
      filterSizeScale: opts.filterSizeScale,
      initStochasticDepthRate: opts.initStochasticDepthRate ?? 0,
      // MG `_resample_with_alpha`.
      resample: (from, targetLevel, targetFilters, targetBlockFn) => {
        let inFilters = from.width;
        if (from.blockFn === 'bottleneck') inFilters /= BOTTLENECK_EXPANSION;
        const alphaFilters = Math.trunc(inFilters * opts.resampleAlpha);
        let y = activate(bn(conv(from.node, alphaFilters, 1)));
        let level = from.level;
        if (level < targetLevel) {
          y = activate(bn(conv(y, alphaFilters, 3, 2)));
          for (level++; level < targetLevel; level++) y = maxPool(y);
        } else if (level > targetLevel) {
          y = g.nearestUpsamplingOps(y, 2 ** (level - targetLevel));
        }
        return bn(conv(y, blockChannels(targetFilters, targetBlockFn), 1));
      },
      width: blockChannels,
      block: (parents, filters, blockFn, rate) => {
        const fused = activate(g.op(parents, (xs) => tf.addN(xs)));
        channels.set(fused, blockChannels(filters, blockFn));
        return blockGroup(fused, filters, blockFn, rate);
      },
    });

    this.finishEndpoints(nodes, levelOutputs, {
      minLevel,
      maxLevel,
      numFilters: opts.endpointsNumFilters,
      maxBlockLevel: Math.max(...specs.map((s) => s[0])),
    });
  }
}
