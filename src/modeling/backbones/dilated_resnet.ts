/**
 * Dilated ResNet, the DeepLab backbone (Model Garden `modeling/backbones/resnet_deeplab.py`
 * `DilatedResNet`; Chen et al. 2017, "Rethinking Atrous Convolution", arXiv:1706.05587).
 *
 * Stem: v0 = 7×7/2 conv 64 + BN + act; v1 = 3×3/2 conv 64, 3×3 conv 64, 3×3 conv 128, each + BN
 * + act (wider than ResNet's v1 stem). Then a 3×3/2 max pool, or with `replaceStemMaxPool` a
 * 3×3/2 conv 64 + BN + act.
 *
 * With `normal = log2(outputStride) − 2`, block groups 0..normal are ordinary (stride 1 for the
 * first, else 2) and give endpoints '2'..`normal + 2`. Groups normal+1 .. 2 + lastStageRepeats
 * have stride 1 and dilation 2, 4, 8, ... (doubling per group); groups from index 3 on reuse the
 * last spec row and scale each block's dilation by `multigrid[j]`. The last group's output
 * replaces endpoint `normal + 2`, so at output stride 16 the endpoints are '2', '3' and '4'
 * (= the last stage, 4 · 512 channels at stride 16).
 *
 * Stochastic depth: group i uses init · (i + 2) / (4 + lastStageRepeats) for all its blocks.
 * Layers are held under Keras functional-model attribute names (`layer_with_weights-N` in
 * creation order), as a TF2 checkpoint of the Keras model stores them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { getActivation } from '../layers/activations.js';
import { getStochasticDepthRate } from '../layers/dropout.js';
import { BottleneckBlock, BOTTLENECK_EXPANSION } from '../blocks/bottleneck_block.js';
import type { Backbone, BackboneOutputSpecs } from './contract.js';
import { applyResNetStem, buildResNetStem, RESNET_SPECS } from './resnet.js';

/** One block group: [block type, filters, repeats]. */
export type DilatedResNetGroupSpec = [blockFn: 'bottleneck', filters: number, repeats: number];

/**
 * Model Garden's resnet_deeplab RESNET_SPECS, keyed by depth: the bottleneck depths of resnet.py's
 * table, row for row.
 */
export const DILATED_RESNET_SPECS: Readonly<Record<number, readonly DilatedResNetGroupSpec[]>> =
  Object.fromEntries(
    [50, 101, 152, 200].map((depth) => [depth, RESNET_SPECS[depth] as DilatedResNetGroupSpec[]]),
  );

export interface DilatedResNetOptions {
  /** Depth: a key of {@link DILATED_RESNET_SPECS}. */
  modelId: number;
  /** Input size / output size: 4, 8, 16 or 32. */
  outputStride: number;
  /** 'v0' (7×7 stem, default) or 'v1' (three 3×3 convs). */
  stemType?: string;
  resnetdShortcut?: boolean;
  replaceStemMaxPool?: boolean;
  /** SE ratio in (0, 1]; null/0 = none. */
  seRatio?: number | null;
  /** Initial stochastic depth rate (scaled per group); default 0. */
  initStochasticDepthRate?: number;
  /** Per-block dilation factors of the groups past the fourth spec row (one per block). */
  multigrid?: readonly number[] | null;
  /** How many times the last stage is repeated; default 1. */
  lastStageRepeats?: number;
  activation?: string;
  normMomentum?: number;
  normEpsilon?: number;
  /** Default 'VarianceScaling'. */
  kernelInitializer?: string;
  /**
   * Replaces the spec rows of `modelId` (same row count); Model Garden has no width knob, so a
   * narrower DilatedResNet there means editing RESNET_SPECS (the deeplabv3plus reference case).
   */
  specs?: readonly DilatedResNetGroupSpec[] | null;
  name?: string;
}

export class DilatedResNet extends Layer<tf.Tensor, Record<string, tf.Tensor>> implements Backbone {
  readonly modelId: number;
  readonly outputStride: number;
  readonly outputSpecs: BackboneOutputSpecs = {};
  private readonly stem: Layer[];
  private readonly stemActivation: (x: tf.Tensor) => tf.Tensor;
  /** Block groups and the endpoint each writes (the last group overwrites the deepest one). */
  private readonly groups: { blocks: BottleneckBlock[]; endpoint: string | null }[] = [];
  private weightLayerCount = 0;

  constructor(opts: DilatedResNetOptions) {
    super({ name: opts.name });
    const spec = opts.specs ?? DILATED_RESNET_SPECS[opts.modelId];
    if (!spec) {
      throw new Error(
        `dilated_resnet: unknown model_id ${opts.modelId}; choose one of ${Object.keys(DILATED_RESNET_SPECS).join(', ')}`,
      );
    }
    if (spec.length !== 4) {
      throw new Error(`dilated_resnet: the spec needs 4 block groups, got ${spec.length}`);
    }
    const stemType = opts.stemType ?? 'v0';
    if (stemType !== 'v0' && stemType !== 'v1') {
      throw new Error(`dilated_resnet: stem_type '${stemType}' is not supported; use 'v0' or 'v1'`);
    }
    const os = opts.outputStride;
    if (![4, 8, 16, 32].includes(os)) {
      throw new Error(`dilated_resnet: output_stride must be 4, 8, 16 or 32, got ${os}`);
    }
    const lastStageRepeats = opts.lastStageRepeats ?? 1;
    if (!Number.isInteger(lastStageRepeats) || lastStageRepeats < 1) {
      throw new Error(
        `dilated_resnet: last_stage_repeats must be a positive integer, got ${lastStageRepeats}`,
      );
    }
    this.modelId = opts.modelId;
    this.outputStride = os;
    const initName = opts.kernelInitializer ?? 'VarianceScaling';
    const init = getInitializer(initName);
    const norm = {
      activation: opts.activation ?? 'relu',
      normMomentum: opts.normMomentum ?? 0.99,
      normEpsilon: opts.normEpsilon ?? 0.001,
    };
    this.stemActivation = getActivation(norm.activation);
    // resnet_deeplab's v1 stem is twice as wide as resnet.py's.
    this.stem = buildResNetStem(
      {
        stemType,
        filters: { v0: 64, v1: [64, 64, 128], pool: 64 },
        replaceStemMaxPool: opts.replaceStemMaxPool ?? false,
        kernelInitializer: init,
        normMomentum: norm.normMomentum,
        normEpsilon: norm.normEpsilon,
      },
      (layer) => this.addWeighted(layer),
      (attr, layer) => this.add(attr, layer),
    );

    const normal = Math.log2(os) - 2;
    const numGroups = 3 + lastStageRepeats;
    const sdTotal = 4 + lastStageRepeats;
    const group = (
      i: number,
      strides: number,
      dilation: number,
      multigrid: readonly number[] | null,
    ) => {
      const [, filters, repeats] = i < 3 ? spec[i] : spec[spec.length - 1];
      if (multigrid && multigrid.length !== repeats) {
        throw new Error(
          `dilated_resnet: multigrid [${multigrid}] has to match the ${repeats} blocks of the last stage`,
        );
      }
      const rate = getStochasticDepthRate(opts.initStochasticDepthRate ?? 0, i + 2, sdTotal);
      const blocks: BottleneckBlock[] = [];
      for (let b = 0; b < repeats; b++) {
        blocks.push(
          this.addWeighted(
            new BottleneckBlock({
              filters,
              strides: b === 0 ? strides : 1,
              dilationRate: dilation * (multigrid ? multigrid[b] : 1),
              useProjection: b === 0,
              seRatio: opts.seRatio,
              resnetdShortcut: opts.resnetdShortcut ?? false,
              stochasticDepthDropRate: rate,
              kernelInitializer: initName,
              ...norm,
            }),
          ),
        );
      }
      return { blocks, channels: filters * BOTTLENECK_EXPANSION };
    };
    let stride = 4;
    for (let i = 0; i <= normal; i++) {
      const strides = i === 0 ? 1 : 2;
      stride *= strides;
      const { blocks, channels } = group(i, strides, 1, null);
      this.groups.push({ blocks, endpoint: String(i + 2) });
      this.outputSpecs[String(i + 2)] = { channels, stride };
    }
    let dilation = 2;
    for (let i = normal + 1; i < numGroups; i++) {
      const multigrid = i >= 3 ? (opts.multigrid ?? null) : null;
      const { blocks, channels } = group(i, 1, dilation, multigrid);
      this.groups.push({ blocks, endpoint: null });
      this.outputSpecs[String(normal + 2)] = { channels, stride };
      dilation *= 2;
    }
  }

  /** Registers a weight-holding layer under its Keras functional-model attribute. */
  private addWeighted<L extends Layer>(layer: L): L {
    return this.add(`layer_with_weights-${this.weightLayerCount++}`, layer);
  }

  /** x: [batch, h, w, channels] → endpoints (see the file comment). */
  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    if (x.rank !== 4) {
      throw new Error(`${this.fullPath()}: expected [batch, h, w, c] input, got [${x.shape}]`);
    }
    let y = applyResNetStem(this.stem, this.stemActivation, x, args);
    const endpoints: Record<string, tf.Tensor> = {};
    for (const { blocks, endpoint } of this.groups) {
      for (const block of blocks) y = block.apply(y, args);
      if (endpoint) endpoints[endpoint] = y;
    }
    endpoints[String(Math.log2(this.outputStride))] = y;
    return endpoints;
  }
}
