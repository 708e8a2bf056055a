/**
 * The parts SpineNet (./spinenet.ts) and Mobile SpineNet (./spinenet_mobile.ts) share: level and
 * input checks, the conv / BN / activation nodes with Keras default names, the scale-permuted block
 * network (Model Garden `_build_scale_permuted_network` in `modeling/backbones/spinenet.py` and
 * `spinenet_mobile.py`), the endpoints, and the functional-graph layer they all live in.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type Initializer } from '../../core/layer.js';
import { Conv2D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import { getStochasticDepthRate } from '../layers/dropout.js';
import { FunctionalGraph, KerasNames, type NodeId } from './functional_graph.js';

/** The SCALING_MAP row of `modelId`, or a clear error naming the ids there are. */
export function scalingRow<T>(what: string, map: Readonly<Record<string, T>>, modelId: string): T {
  const row = map[modelId];
  if (!row) {
    throw new Error(
      `${what}: unknown model_id '${modelId}'; choose one of ${Object.keys(map).join(', ')}`,
    );
  }
  return row;
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

/** [level, block fn, [input offset 0, input offset 1], is output]. */
export type ScalePermutedBlockSpec<Fn extends string = string> = readonly [
  level: number,
  blockFn: Fn,
  inputOffsets: readonly [number, number],
  isOutput: boolean,
];

/** One block of the network so far: its node, level, block function and output width. */
export interface NetBlock {
  node: NodeId;
  level: number;
  blockFn: string;
  /** The width an output block compares against to take an unconsumed block in. */
  width: number;
}

/** Conv (no bias, 'same'), BN and activation nodes named like Keras' defaults. */
export interface SpineNetNodes {
  conv(x: NodeId, filters: number, kernelSize: number, strides?: number): NodeId;
  bn(x: NodeId): NodeId;
  activate(x: NodeId): NodeId;
}

export function spineNetNodes(
  g: FunctionalGraph,
  names: KerasNames,
  init: Initializer,
  norm: { momentum: number; epsilon: number },
  act: (x: tf.Tensor) => tf.Tensor,
): SpineNetNodes {
  return {
    conv: (x, filters, kernelSize, strides = 1) =>
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
      ),
    bn: (x) =>
      g.layer(new BatchNormalization({ name: names.next('batch_normalization'), ...norm }), x),
    activate: (x) => g.op([x], ([t]) => act(t)),
  };
}

/** How one variant resamples parents and builds a block. */
export interface ScalePermutedParts<Fn extends string> {
  /** Error prefix, e.g. 'spinenet'. */
  what: string;
  /** Base channels per level (undefined: no such level). */
  filterSizeMap: Readonly<Record<number, number>>;
  filterSizeScale: number;
  initStochasticDepthRate: number;
  /** Brings block `from` to `level` with the width the new block takes. */
  resample(from: NetBlock, level: number, filters: number, blockFn: Fn): NodeId;
  /** The width of a new block of `filters` base channels (what an output block matches). */
  width(filters: number, blockFn: Fn): number;
  /** Sums the parents, activates, and runs the block group. */
  block(parents: NodeId[], filters: number, blockFn: Fn, dropRate: number | null): NodeId;
}

/**
 * Appends the blocks of `specs` to `net` (the stem's blocks): each takes its two resampled parents
 * (an output block also every earlier unconsumed block of its level and width); block i (1-based)
 * uses stochastic depth rate init · i / #specs. Returns the output block of each level.
 */
export function buildScalePermuted<Fn extends string>(
  net: NetBlock[],
  specs: readonly ScalePermutedBlockSpec<Fn>[],
  parts: ScalePermutedParts<Fn>,
): Record<string, NodeId> {
  const outgoing: number[] = net.map(() => 0);
  const levelOutputs: Record<string, NodeId> = {};
  specs.forEach(([level, blockFn, [in0, in1], isOutput], i) => {
    if (parts.filterSizeMap[level] === undefined || in0 >= net.length || in1 >= net.length) {
      throw new Error(
        `${parts.what}: block spec ${i} [${level}, ${blockFn}, ${in0}, ${in1}] is invalid`,
      );
    }
    const filters = Math.trunc(parts.filterSizeMap[level] * parts.filterSizeScale);
    const parents = [in0, in1].map((j) => {
      outgoing[j]++;
      return parts.resample(net[j], level, filters, blockFn);
    });
    const width = parts.width(filters, blockFn);
    if (isOutput) {
      net.forEach((b, j) => {
        if (outgoing[j] === 0 && b.level === level && b.width === width) {
          parents.push(b.node);
          outgoing[j]++;
        }
      });
    }
    const rate = getStochasticDepthRate(parts.initStochasticDepthRate, i + 1, specs.length);
    const node = parts.block(parents, filters, blockFn, rate);
    net.push({ node, level, blockFn, width });
    outgoing.push(0);
    if (isOutput) {
      if (levelOutputs[level] !== undefined) {
        throw new Error(`${parts.what}: block specs output level ${level} twice`);
      }
      levelOutputs[level] = node;
    }
  });
  return levelOutputs;
}

/** A SpineNet-style backbone held as a functional graph: endpoints keyed by level. */
export abstract class ScalePermutedBackbone extends Layer<tf.Tensor, Record<string, tf.Tensor>> {
  /** Channels and stride of each endpoint, keyed by level. */
  readonly outputSpecs: Record<string, { channels: number; stride: number }> = {};
  protected readonly graph = new FunctionalGraph();
  private multiple = 0;

  /** Height and width must be multiples of this (2^max block level). */
  get inputMultiple(): number {
    return this.multiple;
  }

  /**
   * Endpoints `minLevel`..`maxLevel`: a 1×1 conv to `numFilters` + BN + act on each level's
   * output block; then the graph's layers become `layer_with_weights-N`.
   */
  protected finishEndpoints(
    nodes: SpineNetNodes,
    levelOutputs: Record<string, NodeId>,
    opts: { minLevel: number; maxLevel: number; numFilters: number; maxBlockLevel: number },
  ): void {
    const endpoints: Record<string, NodeId> = {};
    for (let level = opts.minLevel; level <= opts.maxLevel; level++) {
      endpoints[level] = nodes.activate(
        nodes.bn(nodes.conv(levelOutputs[level], opts.numFilters, 1)),
      );
      this.outputSpecs[level] = { channels: opts.numFilters, stride: 2 ** level };
    }
    this.graph.finish(endpoints).forEach((layer, k) => this.add(`layer_with_weights-${k}`, layer));
    this.multiple = 2 ** opts.maxBlockLevel;
  }

  /** x: [batch, h, w, c] with h and w multiples of {@link inputMultiple} → endpoints by level. */
  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    checkSpineNetInput(this.fullPath(), x, this.inputMultiple);
    return this.graph.run(x, args);
  }
}
