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
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { getActivation } from '../layers/activations.js';
import { Conv2D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import { getStochasticDepthRate } from '../layers/dropout.js';
import { BottleneckBlock, BOTTLENECK_EXPANSION } from '../blocks/bottleneck_block.js';
import { ResidualBlock } from '../blocks/residual_block.js';
import { FunctionalGraph, KerasNames, type NodeId } from './functional_graph.js';

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
export type SpineNetBlockSpec = readonly [
  level: number,
  blockFn: SpineNetBlockFn,
  inputOffsets: readonly [number, number],
  isOutput: boolean,
];

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
  const scaling = SPINENET_SCALING_MAP[modelId];
  if (!scaling) {
    throw new Error(
      `spinenet: unknown model_id '${modelId}'; choose one of ${Object.keys(SPINENET_SCALING_MAP).join(', ')}`,
    );
  }
  return scaling;
}

/** Checks min/max level against the output levels of the block specs. */
export function checkSpineNetLevels(
  what: string,
  minLevel: number,
  maxLevel: number,
  outputLevels: readonly number[],
): void {
  for (let l = minLevel; l <= maxLevel; l++) {
    if (!outputLevels.includes(l)) {
      throw new Error(
        `${what}: min_level ${minLevel}..max_level ${maxLevel} needs an output block at level ${l}; the block specs output levels ${[...outputLevels].sort().join(', ')}`,
      );
    }
  }
  if (minLevel > maxLevel) {
    throw new Error(`${what}: min_level ${minLevel} is above max_level ${maxLevel}`);
  }
}

/** SpineNets are planned on a grid of 2^max level: the input sides must be multiples of it. */
export function checkSpineNetInput(what: string, x: tf.Tensor, multiple: number): void {
  if (x.rank !== 4) {
    throw new Error(`${what}: expected [batch, h, w, c] input, got [${x.shape}]`);
  }
  const [, h, w] = x.shape;
  if (h % multiple !== 0 || w % multiple !== 0) {
    throw new Error(
      `${what}: input height and width must be multiples of ${multiple}, got ${h}x${w}`,
    );
  }
}

export class SpineNet extends Layer<tf.Tensor, Record<string, tf.Tensor>> {
  /** Channels and stride of each endpoint, keyed by level. */
  readonly outputSpecs: Record<string, { channels: number; stride: number }> = {};
  /** Height and width must be multiples of this (2^max block level). */
  readonly inputMultiple: number;
  private readonly graph = new FunctionalGraph();

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
    const init = getInitializer(initName);
    const norm = { momentum: opts.normMomentum ?? 0.99, epsilon: opts.normEpsilon ?? 0.001 };
    const names = new KerasNames();
    const g = this.graph;

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
    const bn = (x: NodeId): NodeId =>
      g.layer(new BatchNormalization({ name: names.next('batch_normalization'), ...norm }), x);
    const activate = (x: NodeId): NodeId => g.op([x], ([t]) => act(t));
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
    const net: NodeId[] = [];
    const netLevels: number[] = [];
    const netBlockFns: SpineNetBlockFn[] = [];
    const level2Filters = Math.trunc(SPINENET_FILTER_SIZE_MAP[2] * opts.filterSizeScale);
    for (let i = 0; i < 2; i++) {
      x = blockGroup(x, level2Filters, 'bottleneck', null);
      net.push(x);
      netLevels.push(2);
      netBlockFns.push('bottleneck');
    }

    // MG `_resample_with_alpha`.
    const resample = (
      from: number,
      targetLevel: number,
      targetFilters: number,
      targetBlockFn: SpineNetBlockFn,
    ): NodeId => {
      const source = net[from];
      let inFilters = channels.get(source) as number;
      if (netBlockFns[from] === 'bottleneck') inFilters /= BOTTLENECK_EXPANSION;
      const alphaFilters = Math.trunc(inFilters * opts.resampleAlpha);
      let y = activate(bn(conv(source, alphaFilters, 1)));
      let level = netLevels[from];
      if (level < targetLevel) {
        y = activate(bn(conv(y, alphaFilters, 3, 2)));
        for (level++; level < targetLevel; level++) y = maxPool(y);
      } else if (level > targetLevel) {
        y = g.nearestUpsamplingOps(y, 2 ** (level - targetLevel));
      }
      return bn(conv(y, blockChannels(targetFilters, targetBlockFn), 1));
    };

    const outgoing: number[] = net.map(() => 0);
    const levelOutputs: Record<string, NodeId> = {};
    specs.forEach(([level, blockFn, [in0, in1], isOutput], i) => {
      if (!SPINENET_FILTER_SIZE_MAP[level] || in0 >= net.length || in1 >= net.length) {
        throw new Error(
          `spinenet: block spec ${i} [${level}, ${blockFn}, ${in0}, ${in1}] is invalid`,
        );
      }
      const filters = Math.trunc(SPINENET_FILTER_SIZE_MAP[level] * opts.filterSizeScale);
      const parents = [in0, in1].map((j) => {
        outgoing[j]++;
        return resample(j, level, filters, blockFn);
      });
      const parentChannels = blockChannels(filters, blockFn);
      if (isOutput) {
        net.forEach((node, j) => {
          if (
            outgoing[j] === 0 &&
            netLevels[j] === level &&
            channels.get(node) === parentChannels
          ) {
            parents.push(node);
            outgoing[j]++;
          }
        });
      }
      const fused = activate(g.op(parents, (xs) => tf.addN(xs)));
      channels.set(fused, parentChannels);
      const rate = getStochasticDepthRate(opts.initStochasticDepthRate ?? 0, i + 1, specs.length);
      const block = blockGroup(fused, filters, blockFn, rate);
      net.push(block);
      netLevels.push(level);
      netBlockFns.push(blockFn);
      outgoing.push(0);
      if (isOutput) {
        if (levelOutputs[level] !== undefined) {
          throw new Error(`spinenet: block specs output level ${level} twice`);
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
