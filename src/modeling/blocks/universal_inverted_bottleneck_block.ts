/**
 * Model Garden `nn_blocks.UniversalInvertedBottleneckBlock` (MobileNetV4; Qin et al. 2024,
 * arXiv:2404.10518): optional starting depthwise k×k + BN (no activation), expand 1×1 + BN + act,
 * optional middle depthwise k×k + BN + act, project 1×1 + BN, optional ending depthwise + BN, and
 * the residual add (with stochastic depth) at stride 1 with equal widths. The stride sits on the
 * middle depthwise (middle_dw_downsample) or on the starting one. A kernel size of 0 omits that
 * depthwise. With use_layer_scale the branch is scaled per channel (MNV4LayerScale) before the add.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { setKerasDefaultName } from '../layers/layer_utils.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { StochasticDepth } from '../layers/dropout.js';
import { MNV4LayerScale } from '../layers/layer_scale.js';
import { BatchNormalization } from '../layers/normalization.js';
import { makeDivisible } from '../layers/squeeze_excitation.js';
import type { NormActivationOptions } from './conv_norm_act.js';

export interface UniversalInvertedBottleneckBlockOptions extends NormActivationOptions {
  inFilters: number;
  outFilters: number;
  expandRatio: number;
  strides?: number;
  middleDwDownsample?: boolean;
  startDwKernelSize?: number;
  middleDwKernelSize?: number;
  endDwKernelSize?: number;
  stochasticDepthDropRate?: number | null;
  dilationRate?: number;
  divisibleBy?: number;
  useResidual?: boolean;
  useLayerScale?: boolean;
  /** Default 1e-5. */
  layerScaleInitValue?: number;
  kernelInitializer?: string;
  name?: string;
}

type DwUnit = { conv: DepthwiseConv2D; norm: BatchNormalization } | null;

export class UniversalInvertedBottleneckBlock extends Layer<tf.Tensor, tf.Tensor> {
  private readonly startDw: DwUnit = null;
  private readonly expand: Conv2D;
  private readonly expandNorm: BatchNormalization;
  private readonly middleDw: DwUnit = null;
  private readonly proj: Conv2D;
  private readonly projNorm: BatchNormalization;
  private readonly endDw: DwUnit = null;
  private readonly layerScale: MNV4LayerScale | null = null;
  private readonly stochasticDepth: StochasticDepth | null = null;
  private readonly act: ActivationFn;
  private readonly residual: boolean;

  constructor(opts: UniversalInvertedBottleneckBlockOptions) {
    super({ name: opts.name });
    setKerasDefaultName(this, opts, 'universal_inverted_bottleneck_block');
    const strides = opts.strides ?? 1;
    const middleDown = opts.middleDwDownsample ?? true;
    const start = opts.startDwKernelSize ?? 0;
    const middle = opts.middleDwKernelSize ?? 3;
    const end = opts.endDwKernelSize ?? 0;
    if (strides > 1 && middleDown && !middle) {
      throw new Error(`${this.name}: downsampling requested at a missing middle depthwise`);
    }
    if (strides > 1 && !middleDown && !start) {
      throw new Error(`${this.name}: downsampling requested at a missing starting depthwise`);
    }
    const init = opts.kernelInitializer ?? 'VarianceScaling';
    const bn = () =>
      new BatchNormalization({
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
      });
    const dw = (prefix: string, kernelSize: number, s: number): DwUnit => ({
      conv: this.add(
        `${prefix}_conv`,
        new DepthwiseConv2D({
          kernelSize,
          strides: s,
          dilationRate: opts.dilationRate ?? 1,
          padding: 'same',
          useBias: false,
          depthwiseInitializer: init,
        }),
      ),
      norm: this.add(`${prefix}_norm`, bn()),
    });
    const conv1x1 = (filters: number) =>
      new Conv2D({
        filters,
        kernelSize: 1,
        padding: 'same',
        useBias: false,
        kernelInitializer: init,
      });
    if (start) this.startDw = dw('_start_dw', start, middleDown ? 1 : strides);
    const expandFilters = makeDivisible(opts.inFilters * opts.expandRatio, opts.divisibleBy ?? 1);
    this.expand = this.add('_expand_conv', conv1x1(expandFilters));
    this.expandNorm = this.add('_expand_norm', bn());
    if (middle) this.middleDw = dw('_middle_dw', middle, middleDown ? strides : 1);
    this.proj = this.add('_proj_conv', conv1x1(opts.outFilters));
    this.projNorm = this.add('_proj_norm', bn());
    if (end) this.endDw = dw('_end_dw', end, 1);
    if (opts.useLayerScale) {
      this.layerScale = this.add(
        '_layer_scale',
        new MNV4LayerScale({ initValue: opts.layerScaleInitValue ?? 1e-5 }),
      );
    }
    this.residual =
      (opts.useResidual ?? true) && opts.inFilters === opts.outFilters && strides === 1;
    if (this.residual && opts.stochasticDepthDropRate) {
      this.stochasticDepth = this.add(
        '_stochastic_depth',
        new StochasticDepth({ dropRate: opts.stochasticDepthDropRate }),
      );
    }
    this.act = getActivation(opts.activation ?? 'relu');
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    let y = x;
    if (this.startDw) y = this.startDw.norm.apply(this.startDw.conv.apply(y, args), args);
    y = this.act(this.expandNorm.apply(this.expand.apply(y, args), args));
    if (this.middleDw) {
      y = this.act(this.middleDw.norm.apply(this.middleDw.conv.apply(y, args), args));
    }
    y = this.projNorm.apply(this.proj.apply(y, args), args);
    if (this.endDw) y = this.endDw.norm.apply(this.endDw.conv.apply(y, args), args);
    if (this.layerScale) y = this.layerScale.apply(y, args);
    if (!this.residual) return y;
    if (this.stochasticDepth) y = this.stochasticDepth.apply(y, args);
    return tf.add(y, x);
  }
}
