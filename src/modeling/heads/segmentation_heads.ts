/**
 * Segmentation head (Model Garden `modeling/heads/segmentation_heads.py` `SegmentationHead`):
 * DeepLabV3's head and, with `featureFusion: 'deeplabv3plus'`, DeepLabV3+'s decoder (Chen et al.
 * 2018, arXiv:1802.02611).
 *
 * Input: the backbone endpoints and the decoder outputs. Without fusion, x = decoder[level].
 * With DeepLabV3+ fusion: the backbone's `lowLevel` endpoint goes through a 1×1 conv to
 * `lowLevelNumFilters` (no bias) + BN + act; x = decoder[level] resized bilinearly (TF2
 * `tf.image.resize`: half-pixel centres, corners not aligned) to that size, then concatenated
 * [x, low] ('deeplabv3plus') or added ('deeplabv3plus_sum_to_merge'). Then `numConvs` × (3×3 conv
 * `numFilters`, no bias + BN + act) — with `useDepthwiseConvolution`, each is a 3×3 depthwise conv
 * + BN + act then a 1×1 conv + BN + act —, nearest ×`upsampleFactor` upsampling, and the
 * classifier conv (`predictionKernelSize`, with bias) → logits [B, h, w, numClasses] (an optional
 * sigmoid/softmax). Convs are initialised RandomNormal(0.01), as there.
 *
 * Attribute names are MG's (`_dlv3p_conv`, `_dlv3p_norm`, `_convs/<i>`, `_norms/<i>`,
 * `_classifier`), so TF checkpoints map by rule.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { randomNormal } from '../../core/initializers.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import { resizeBilinearTf2 } from '../layers/deeplab.js';
import { nearestUpsampling } from '../decoders/fpn.js';
import type { BackboneOutputSpecs } from '../backbones/contract.js';

export type LevelFeatures = Record<string, tf.Tensor>;

export interface SegmentationHeadOptions {
  numClasses: number;
  /** Decoder level the head reads. */
  level: number | string;
  /** Default 2. */
  numConvs?: number;
  /** Default 256. */
  numFilters?: number;
  useDepthwiseConvolution?: boolean;
  /** Default 1. */
  predictionKernelSize?: number;
  /** Default 1 (no upsampling). */
  upsampleFactor?: number;
  /** null, 'deeplabv3plus' or 'deeplabv3plus_sum_to_merge'. */
  featureFusion?: string | null;
  /** Backbone endpoint of the DeepLabV3+ fusion; default 2. */
  lowLevel?: number | string;
  /** Default 48. */
  lowLevelNumFilters?: number;
  activation?: string;
  /** null, 'sigmoid' or 'softmax'. */
  logitActivation?: string | null;
  normMomentum?: number;
  normEpsilon?: number;
  /** The backbone's endpoint specs, to check `lowLevel` when fusing (optional). */
  backboneSpecs?: BackboneOutputSpecs;
  name?: string;
}

const FUSIONS = ['deeplabv3plus', 'deeplabv3plus_sum_to_merge'];

export class SegmentationHead extends Layer<[LevelFeatures, LevelFeatures | tf.Tensor], tf.Tensor> {
  readonly numClasses: number;
  readonly level: string;
  readonly lowLevel: string;
  readonly featureFusion: string | null;
  readonly upsampleFactor: number;
  private readonly dlv3pConv: Conv2D | null = null;
  private readonly dlv3pNorm: BatchNormalization | null = null;
  private readonly convs: Layer<tf.Tensor, tf.Tensor>[] = [];
  private readonly norms: BatchNormalization[] = [];
  private readonly classifier: Conv2D;
  private readonly act: ActivationFn;
  private readonly logitAct: ActivationFn;

  constructor(opts: SegmentationHeadOptions) {
    super({ name: opts.name ?? 'segmentation_head' });
    const fusion = opts.featureFusion ?? null;
    if (fusion !== null && !FUSIONS.includes(fusion)) {
      throw new Error(
        `segmentation head: feature_fusion '${fusion}' is not supported yet; use null, ${FUSIONS.join(' or ')}`,
      );
    }
    if (!Number.isInteger(opts.numClasses) || opts.numClasses < 1) {
      throw new Error(`segmentation head: num_classes must be >= 1, got ${opts.numClasses}`);
    }
    const upsample = opts.upsampleFactor ?? 1;
    if (!Number.isInteger(upsample) || upsample < 1) {
      throw new Error(`segmentation head: upsample_factor must be >= 1, got ${upsample}`);
    }
    const numConvs = opts.numConvs ?? 2;
    if (!Number.isInteger(numConvs) || numConvs < 0) {
      throw new Error(`segmentation head: num_convs must be >= 0, got ${numConvs}`);
    }
    const logit = opts.logitActivation ?? null;
    if (logit !== null && logit !== 'sigmoid' && logit !== 'softmax') {
      throw new Error(
        `segmentation head: logit_activation '${logit}' is not one of null, sigmoid, softmax`,
      );
    }
    this.numClasses = opts.numClasses;
    this.level = String(opts.level);
    this.lowLevel = String(opts.lowLevel ?? 2);
    this.featureFusion = fusion;
    this.upsampleFactor = upsample;
    if (fusion && opts.backboneSpecs && !(this.lowLevel in opts.backboneSpecs)) {
      throw new Error(
        `segmentation head: low_level '${this.lowLevel}' is not a backbone endpoint (it has: ${Object.keys(opts.backboneSpecs).join(', ')})`,
      );
    }
    this.act = getActivation(opts.activation ?? 'relu');
    this.logitAct = logit === 'softmax' ? (x) => tf.softmax(x, -1) : getActivation(logit);
    const init = () => randomNormal({ stddev: 0.01 });
    const bn = (name: string) =>
      new BatchNormalization({
        name,
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
      });
    const conv = (name: string, filters: number, kernelSize: number, useBias = false) =>
      new Conv2D({
        name,
        filters,
        kernelSize,
        padding: 'same',
        useBias,
        kernelInitializer: init(),
      });

    if (fusion) {
      this.dlv3pConv = this.add(
        '_dlv3p_conv',
        conv('segmentation_head_deeplabv3p_fusion_conv', opts.lowLevelNumFilters ?? 48, 1),
      );
      this.dlv3pNorm = this.add('_dlv3p_norm', bn('segmentation_head_deeplabv3p_fusion_norm'));
    }
    const numFilters = opts.numFilters ?? 256;
    for (let i = 0; i < numConvs; i++) {
      if (opts.useDepthwiseConvolution) {
        this.convs.push(
          this.add(
            `_convs/${this.convs.length}`,
            new DepthwiseConv2D({
              name: `segmentation_head_depthwise_conv_${i}`,
              kernelSize: 3,
              padding: 'same',
              useBias: false,
              depthwiseInitializer: init(),
            }),
          ),
        );
        this.norms.push(
          this.add(`_norms/${this.norms.length}`, bn(`segmentation_head_depthwise_norm_${i}`)),
        );
      }
      this.convs.push(
        this.add(
          `_convs/${this.convs.length}`,
          conv(`segmentation_head_conv_${i}`, numFilters, opts.useDepthwiseConvolution ? 1 : 3),
        ),
      );
      this.norms.push(this.add(`_norms/${this.norms.length}`, bn(`segmentation_head_norm_${i}`)));
    }
    this.classifier = this.add(
      '_classifier',
      conv('segmentation_output', opts.numClasses, opts.predictionKernelSize ?? 1, true),
    );
  }

  /** [backbone endpoints, decoder outputs (or MG's bare ASPP tensor)] → logits. */
  protected call(
    [backbone, decoder]: [LevelFeatures, LevelFeatures | tf.Tensor],
    args: CallArgs,
  ): tf.Tensor {
    const pick = (feats: LevelFeatures | tf.Tensor, key: string, what: string): tf.Tensor => {
      if (feats instanceof tf.Tensor) return feats;
      const t = feats[key];
      if (!t) {
        throw new Error(
          `${this.fullPath()}: the ${what} has no '${key}' feature map (it has: ${Object.keys(feats).join(', ')})`,
        );
      }
      return t;
    };
    return tf.tidy(() => {
      let x = pick(decoder, this.level, 'decoder output');
      if (this.dlv3pConv && this.dlv3pNorm) {
        const low = pick(backbone, this.lowLevel, 'backbone output');
        const y = this.act(this.dlv3pNorm.apply(this.dlv3pConv.apply(low, args), args));
        x = resizeBilinearTf2(x, y.shape.slice(1, 3) as [number, number]);
        x = this.featureFusion === 'deeplabv3plus' ? tf.concat([x, y], -1) : tf.add(x, y);
      }
      this.convs.forEach((conv, i) => {
        x = this.act(this.norms[i].apply(conv.apply(x, args), args));
      });
      if (this.upsampleFactor > 1) x = nearestUpsampling(x, this.upsampleFactor);
      return this.logitAct(this.classifier.apply(x, args));
    });
  }
}
