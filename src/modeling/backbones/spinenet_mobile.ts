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
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { getActivation } from '../layers/activations.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import { getStochasticDepthRate } from '../layers/dropout.js';
import { InvertedBottleneckBlock } from '../blocks/inverted_bottleneck_block.js';
import { FunctionalGraph, KerasNames, nearestUpsampling, type NodeId } from './functional_graph.js';
import { checkSpineNetInput, checkSpineNetLevels } from './spinenet.js';

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
export type SpineNetMobileBlockSpec = readonly [
  level: number,
  blockFn: 'mbconv',
  inputOffsets: readonly [number, number],
  isOutput: boolean,
];

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
  const scaling = SPINENET_MOBILE_SCALING_MAP[modelId];
  if (!scaling) {
    throw new Error(
      `spinenet_mobile: unknown model_id '${modelId}'; choose one of ${Object.keys(SPINENET_MOBILE_SCALING_MAP).join(', ')}`,
    );
  }
  return scaling;
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

export class SpineNetMobile extends Layer<tf.Tensor, Record<string, tf.Tensor>> {
  readonly outputSpecs: Record<string, { channels: number; stride: number }> = {};
  readonly inputMultiple: number;
  private readonly graph = new FunctionalGraph();

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

    const conv = (x: NodeId, filters: number, kernelSize: number, strides = 1): NodeId =>
      g.layer(
        new Conv2D({
          name: names.next('conv2d'),
          filters,
          kernelSize,
          strides,
          padding: 'same',
          useBias: false,
          kernelInitializer: init,
        }),
        x,
      );
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
    const bn = (x: NodeId): NodeId =>
      g.layer(new BatchNormalization({ name: names.next('batch_normalization'), ...norm }), x);
    // A Keras Activation layer (get_activation(..., use_keras_layer=True)).
    const activate = (x: NodeId): NodeId => g.op([x], ([t]) => act(t));

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
    const net: NodeId[] = [];
    const netLevels: number[] = [];
    const netFilters: number[] = [];
    [1, 2].forEach((strides, i) => {
      x = blockGroup(x, filtersAt(i), filtersAt(i + 1), strides, null);
      net.push(x);
      netLevels.push(i + 1);
      netFilters.push(filtersAt(i + 1));
    });

    // MG `_resample_with_sepconv`.
    const resample = (from: number, targetLevel: number, targetFilters: number): NodeId => {
      let y = net[from];
      const level = netLevels[from];
      if (level < targetLevel) {
        for (let l = level; l < targetLevel; l++) y = activate(bn(depthwise(y)));
      } else if (level > targetLevel) {
        const scale = 2 ** (level - targetLevel);
        y = opts.useKerasUpsampling2d
          ? g.op([y], ([t]) => nearestUpsampling(t, scale))
          : g.nearestUpsamplingOps(y, scale);
      }
      return bn(conv(y, targetFilters, 1));
    };

    const outgoing: number[] = net.map(() => 0);
    const levelOutputs: Record<string, NodeId> = {};
    specs.forEach(([level, , [in0, in1], isOutput], i) => {
      if (
        SPINENET_MOBILE_FILTER_SIZE_MAP[level] === undefined ||
        in0 >= net.length ||
        in1 >= net.length
      ) {
        throw new Error(`spinenet_mobile: block spec ${i} [${level}, ${in0}, ${in1}] is invalid`);
      }
      const filters = filtersAt(level);
      const parents = [in0, in1].map((j) => {
        outgoing[j]++;
        return resample(j, level, filters);
      });
      if (isOutput) {
        net.forEach((node, j) => {
          if (outgoing[j] === 0 && netLevels[j] === level && netFilters[j] === filters) {
            parents.push(node);
            outgoing[j]++;
          }
        });
      }
      let fused = parents[0];
      for (const p of parents.slice(1)) fused = g.op([fused, p], ([a, b]) => tf.add(a, b));
      const rate = getStochasticDepthRate(opts.initStochasticDepthRate ?? 0, i + 1, specs.length);
      const block = blockGroup(activate(fused), filters, filters, 1, rate);
      net.push(block);
      netLevels.push(level);
      netFilters.push(filters);
      outgoing.push(0);
      if (isOutput) {
        if (levelOutputs[level] !== undefined) {
          throw new Error(`spinenet_mobile: block specs output level ${level} twice`);
        }
        levelOutputs[level] = block;
      }
    });

    const endpoints: Record<string, NodeId> = {};
    for (let level = minLevel; level <= maxLevel; level++) {
      endpoints[level] = activate(bn(conv(levelOutputs[level], opts.endpointsNumFilters, 1)));
      this.outputSpecs[level] = { channels: opts.endpointsNumFilters, stride: 2 ** level };
    }
    this.graph.finish(endpoints).forEach((layer, k) => this.add(`layer_with_weights-${k}`, layer));
    this.inputMultiple = 2 ** Math.max(...specs.map((s) => s[0]));
  }

  /** x: [batch, h, w, c] with h and w multiples of {@link inputMultiple} → endpoints by level. */
  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    checkSpineNetInput(this.fullPath(), x, this.inputMultiple);
    return this.graph.run(x, args);
  }
}
