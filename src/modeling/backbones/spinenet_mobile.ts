/**
 * Mobile SpineNet (Du et al., "Efficient Scale-Permuted Backbone with Learned Resource
 * Distribution", arXiv:2010.11426), as Model Garden's `modeling/backbones/spinenet_mobile.py`.
 *
 * Stem: 3×3/2 conv + BN + act, then two inverted-bottleneck groups (level 1 stride 1, level 2
 * stride 2). Scale-permuted blocks of {@link SPINENET_MOBILE_BLOCK_SPECS} (levels above max_level
 * are lowered to it): each parent is resampled by 3×3/2 depthwise conv + BN + act per halving, or
 * nearest upsampling, then a 1×1 conv + BN to the block's width; parents are summed pairwise
 * (Keras `Add`), activated, and run through one inverted-bottleneck block (SE with hard-sigmoid
 * gate, `expand_ratio`, stochastic depth rate init · i / 16). Endpoints: 1×1 conv to
 * `endpoints_num_filters` + BN + act.
 *
 * Every SCALING_MAP row has one block per group; Model Garden's `block_repeats` > 1 path applies the
 * repeats to the group input (only the last one is kept), so it is not offered here.
 * As ./spinenet.ts, the structure is MG's for inputs whose sides are multiples of 128, and layers
 * are held as the Keras functional model's `layer_with_weights-N`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getInitializer } from '../../core/initializers.js';
import { getActivation } from '../layers/activations.js';
import { DepthwiseConv2D } from '../layers/conv.js';
import { InvertedBottleneckBlock } from '../blocks/inverted_bottleneck_block.js';
import { KerasNames, nearestUpsampling, type NodeId } from './functional_graph.js';
import {
  buildScalePermuted,
  checkSpineNetLevels,
  ScalePermutedBackbone,
  scalingRow,
  spineNetNodes,
  type NetBlock,
  type ScalePermutedBlockSpec,
} from './spinenet_common.js';

/** Base channels per level (Model Garden spinenet_mobile FILTER_SIZE_MAP). */
export const SPINENET_MOBILE_FILTER_SIZE_MAP: Readonly<Record<number, number>> = {
  0: 8,
  1: 16,
  2: 24,
  3: 40,
  4: 80,
  5: 112,
  6: 112,
  7: 112,
};

/** [level, block fn, [input offset 0, input offset 1], is output]; every block is an MBConv. */
export type SpineNetMobileBlockSpec = ScalePermutedBlockSpec<'mbconv'>;

/** Model Garden spinenet_mobile SPINENET_BLOCK_SPECS. */
export const SPINENET_MOBILE_BLOCK_SPECS: readonly SpineNetMobileBlockSpec[] = [
  [2, 'mbconv', [0, 1], false],
  [2, 'mbconv', [1, 2], false],
  [4, 'mbconv', [1, 2], false],
  [3, 'mbconv', [3, 4], false],
  [4, 'mbconv', [3, 5], false],
  [6, 'mbconv', [4, 6], false],
  [4, 'mbconv', [4, 6], false],
  [5, 'mbconv', [7, 8], false],
  [7, 'mbconv', [7, 9], false],
  [5, 'mbconv', [9, 10], false],
  [5, 'mbconv', [9, 11], false],
  [4, 'mbconv', [6, 11], true],
  [3, 'mbconv', [5, 11], true],
  [5, 'mbconv', [8, 13], true],
  [7, 'mbconv', [6, 15], true],
  [6, 'mbconv', [13, 15], true],
];

export interface SpineNetMobileScaling {
  endpointsNumFilters: number;
  filterSizeScale: number;
}

/** Model Garden spinenet_mobile SCALING_MAP (block_repeats is 1 in every row). */
export const SPINENET_MOBILE_SCALING_MAP: Readonly<Record<string, SpineNetMobileScaling>> = {
  '49': { endpointsNumFilters: 48, filterSizeScale: 1.0 },
  '49S': { endpointsNumFilters: 40, filterSizeScale: 0.65 },
  '49XS': { endpointsNumFilters: 24, filterSizeScale: 0.6 },
};

export function spineNetMobileScaling(modelId: string): SpineNetMobileScaling {
  return scalingRow('spinenet_mobile', SPINENET_MOBILE_SCALING_MAP, modelId);
}

export interface SpineNetMobileOptions extends SpineNetMobileScaling {
  minLevel?: number;
  maxLevel?: number;
  blockSpecs?: readonly SpineNetMobileBlockSpec[];
  /** Default 0.2. */
  seRatio?: number;
  /** Default 6. */
  expandRatio?: number;
  initStochasticDepthRate?: number;
  /** Default 'relu'. */
  activation?: string;
  normMomentum?: number;
  normEpsilon?: number;
  kernelInitializer?: string;
  /** One Keras UpSampling2D layer instead of MG's reshape/tile ops (same values). */
  useKerasUpsampling2d?: boolean;
  name?: string;
}

export class SpineNetMobile extends ScalePermutedBackbone {
  constructor(opts: SpineNetMobileOptions) {
    super({ name: opts.name ?? 'spine_net_mobile' });
    const minLevel = opts.minLevel ?? 3;
    const maxLevel = opts.maxLevel ?? 7;
    // MG lowers block levels above max_level to it.
    const specs = (opts.blockSpecs ?? SPINENET_MOBILE_BLOCK_SPECS).map(
      ([level, fn, inputs, isOutput]) => [Math.min(level, maxLevel), fn, inputs, isOutput] as const,
    );
    checkSpineNetLevels(
      'spinenet_mobile',
      minLevel,
      maxLevel,
      specs.filter((s) => s[3]).map((s) => s[0]),
    );
    if (!(opts.filterSizeScale > 0)) {
      throw new Error(
        `spinenet_mobile: filter_size_scale must be > 0, got ${opts.filterSizeScale}`,
      );
    }
    const activation = opts.activation ?? 'relu';
    const act = getActivation(activation);
    const initName = opts.kernelInitializer ?? 'VarianceScaling';
    const init = getInitializer(initName);
    const norm = { momentum: opts.normMomentum ?? 0.99, epsilon: opts.normEpsilon ?? 0.001 };
    const names = new KerasNames();
    const g = this.graph;
    const filtersAt = (level: number) =>
      Math.trunc(SPINENET_MOBILE_FILTER_SIZE_MAP[level] * opts.filterSizeScale);

    // A Keras Activation layer (get_activation(..., use_keras_layer=True)) for `activate`.
    const nodes = spineNetNodes(g, names, init, norm, act);
    const { conv, bn, activate } = nodes;
    const depthwise = (x: NodeId): NodeId =>
      g.layer(
        new DepthwiseConv2D({
          name: names.next('depthwise_conv2d'),
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          useBias: false,
          depthwiseInitializer: init,
        }),
        x,
      );

    // MG `_block_group` with one block, then a linear Activation layer named after the group.
    const blockGroup = (
      x: NodeId,
      inFilters: number,
      outFilters: number,
      strides: number,
      dropRate: number | null,
    ): NodeId => {
      const block = new InvertedBottleneckBlock({
        name: names.next('inverted_bottleneck_block'),
        inFilters,
        outFilters,
        strides,
        expandRatio: opts.expandRatio ?? 6,
        seRatio: opts.seRatio ?? 0.2,
        seGatingActivation: 'hard_sigmoid',
        stochasticDepthDropRate: dropRate,
        kernelInitializer: initName,
        activation,
        normMomentum: norm.momentum,
        normEpsilon: norm.epsilon,
      });
      return g.op([g.layer(block, x)], ([t]) => t);
    };

    const input = g.input();
    let x = activate(bn(conv(input, filtersAt(0), 3, 2)));
    const net: NetBlock[] = [];
    [1, 2].forEach((strides, i) => {
      x = blockGroup(x, filtersAt(i), filtersAt(i + 1), strides, null);
      net.push({ node: x, level: i + 1, blockFn: 'mbconv', width: filtersAt(i + 1) });
    });

    const levelOutputs = buildScalePermuted(net, specs, {
      what: 'spinenet_mobile',
      filterSizeMap: SPINENET_MOBILE_FILTER_SIZE_MAP,
      filterSizeScale: opts.filterSizeScale,
      initStochasticDepthRate: opts.initStochasticDepthRate ?? 0,
      // MG `_resample_with_sepconv`.
      resample: (from, targetLevel, targetFilters) => {
        let y = from.node;
        const level = from.level;
        if (level < targetLevel) {
          for (let l = level; l < targetLevel; l++) y = activate(bn(depthwise(y)));
        } else if (level > targetLevel) {
          const scale = 2 ** (level - targetLevel);
          y = opts.useKerasUpsampling2d
            ? g.op([y], ([t]) => nearestUpsampling(t, scale))
            : g.nearestUpsamplingOps(y, scale);
        }
        return bn(conv(y, targetFilters, 1));
      },
      width: (filters) => filters,
      // Parents are summed pairwise (Keras `Add`), then activated.
      block: (parents, filters, _blockFn, rate) => {
        let fused = parents[0];
        for (const p of parents.slice(1)) fused = g.op([fused, p], ([a, b]) => tf.add(a, b));
        return blockGroup(activate(fused), filters, filters, 1, rate);
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
