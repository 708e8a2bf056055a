/**
 * Semantic segmentation model (Model Garden `modeling/segmentation_model.py` `SegmentationModel`
 * and `modeling/factory.py` `build_segmentation_model`): backbone → decoder (none for MG's
 * `identity`) → segmentation head, which reads both the backbone endpoints (DeepLabV3+'s low-level
 * features) and the decoder outputs. `apply` gives the logits [B, h, w, num_classes] at the head's
 * output resolution (DeepLabV3: stride 16, DeepLabV3+: the low level's stride 4), as MG's
 * `outputs['logits']`; resizing them to the labels is the loss's and the metric's job.
 *
 * The config is MG's `SemanticSegmentationModel` section (`task.model`, snake_case).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Layer, type CallArgs } from '../../core/layer.js';
import { config, int, list, notSupported, optSub, sub, subWith } from '../../core/config/schema.js';
import { normActivationConfig } from '../../core/config/vision_common.js';
import { backboneConfig } from '../backbones/config.js';
import { buildBackbone } from '../backbones/factory.js';
import type { Backbone } from '../backbones/contract.js';
import { decoderConfig } from '../decoders/config.js';
import { buildDecoder } from '../decoders/factory.js';
import type { Decoder } from '../decoders/contract.js';
import { ASPP } from '../decoders/aspp.js';
import { maskScoringHeadConfig, segmentationHeadConfig } from '../heads/config.js';
import { SegmentationHead } from '../heads/segmentation_heads.js';

/** MG `semantic_segmentation.SemanticSegmentationModel`. */
export const semanticSegmentationModelConfig = config({
  num_classes: int(0),
  /** [height, width, channels]; null for a size fixed only by the data. */
  input_size: list(z.int().nullable()),
  min_level: int(3),
  max_level: int(6),
  head: sub(segmentationHeadConfig),
  backbone: subWith(backboneConfig, { type: 'resnet' }),
  decoder: subWith(decoderConfig, { type: 'identity' }),
  /** Mask Scoring R-CNN's IoU head on the logits: not ported. */
  mask_scoring_head: notSupported(optSub(maskScoringHeadConfig)),
  norm_activation: sub(normActivationConfig),
});

export type SemanticSegmentationModelConfig = z.infer<typeof semanticSegmentationModelConfig>;

export interface SegmentationModelOptions {
  backbone: Backbone;
  /** null: Model Garden's `identity` decoder (the backbone's endpoints feed the head). */
  decoder: Decoder | null;
  head: SegmentationHead;
  name?: string;
}

export class SegmentationModel extends Layer<tf.Tensor, tf.Tensor> {
  readonly backbone: Backbone;
  readonly decoder: Decoder | null;
  readonly head: SegmentationHead;
  readonly numClasses: number;

  constructor(opts: SegmentationModelOptions) {
    super({ name: opts.name ?? 'segmentation_model' });
    this.backbone = this.add('_backbone', opts.backbone);
    this.decoder = opts.decoder ? this.add('_decoder', opts.decoder) : null;
    this.head = this.add('_head', opts.head);
    this.numClasses = opts.head.numClasses;
  }

  /** images [B, H, W, C] → logits [B, h, w, num_classes]. */
  protected call(images: tf.Tensor, args: CallArgs): tf.Tensor {
    if (images.rank !== 4) {
      throw new Error(`segmentation model: images must be [B, H, W, C], got [${images.shape}]`);
    }
    return tf.tidy(() => {
      const endpoints = this.backbone.apply(images, args);
      const features = this.decoder ? this.decoder.apply(endpoints, args) : endpoints;
      // MG's ASPP with output_tensor hands the head a bare tensor, whatever the head's level.
      const decoded =
        this.decoder instanceof ASPP && this.decoder.outputTensor
          ? features[String(this.decoder.level)]
          : features;
      return this.head.apply([endpoints, decoded], args);
    });
  }
}

/** Parses `task.model`, throwing one line naming the first bad field. */
function parseModelConfig(cfg: unknown): SemanticSegmentationModelConfig {
  const parsed = semanticSegmentationModelConfig.safeParse(cfg);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`task.model.${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Model Garden's `factory.build_segmentation_model`: the backbone and decoder through their
 * factories (with min_level, max_level and norm_activation), the segmentation head from
 * `head` and norm_activation, and the model. `modelCfg` is MG's `task.model` section, raw (YAML)
 * or parsed.
 */
export function buildSegmentationModel(
  modelCfg: SemanticSegmentationModelConfig | z.input<typeof semanticSegmentationModelConfig>,
): SegmentationModel {
  const cfg = parseModelConfig(modelCfg);
  if (!(cfg.num_classes >= 1)) {
    throw new Error(`task.model.num_classes must be >= 1, got ${cfg.num_classes}`);
  }
  const na = cfg.norm_activation;
  const backbone = buildBackbone(cfg.backbone, na);
  const decoder = buildDecoder(cfg.decoder, {
    inputSpecs: backbone.outputSpecs,
    minLevel: cfg.min_level,
    maxLevel: cfg.max_level,
    normActivation: na,
  });
  const h = cfg.head;
  const head = new SegmentationHead({
    numClasses: cfg.num_classes,
    level: h.level ?? 3,
    numConvs: h.num_convs,
    numFilters: h.num_filters,
    useDepthwiseConvolution: h.use_depthwise_convolution,
    predictionKernelSize: h.prediction_kernel_size,
    upsampleFactor: h.upsample_factor,
    featureFusion: h.feature_fusion,
    lowLevel: h.low_level ?? 2,
    lowLevelNumFilters: h.low_level_num_filters,
    logitActivation: h.logit_activation,
    activation: na.activation,
    normMomentum: na.norm_momentum,
    normEpsilon: na.norm_epsilon,
    backboneSpecs: backbone.outputSpecs,
  });
  const levelKey = String(h.level);
  const specs = decoder ? decoder.outputSpecs : backbone.outputSpecs;
  const tensorOut = decoder instanceof ASPP && decoder.outputTensor;
  if (!tensorOut && !(levelKey in specs)) {
    throw new Error(
      `task.model.head.level: ${levelKey} is not a ${decoder ? 'decoder' : 'backbone'} output (it has: ${Object.keys(specs).join(', ')})`,
    );
  }
  return new SegmentationModel({ backbone, decoder, head });
}
